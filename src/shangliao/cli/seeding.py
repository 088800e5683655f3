"""Sample data for ``shangliao demo`` and ``shangliao seed``.

The data itself is made in ``shangliao.demo``; the CLI imports this module lazily, only inside the
commands that need it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from shangliao.runtime import Runtime

if TYPE_CHECKING:
    from shangliao.demo.shop import DemoProgress

# ``shangliao demo`` looks for this shop to decide whether to seed, and prints this login when the
# shop exists already; ``seed_demo_shop`` must create exactly these.
DEMO_SHOP_SLUG = "demo"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "shangliao-demo"

ProgressFn = Callable[[int], None]
"""Called with the running total of orders created so far (as ``orders.archive`` does)."""


def seed_demo_shop(rt: Runtime, progress: DemoProgress) -> tuple[str, str, str]:
    """Create the demo shop with products, customers, conversations' orders in every state.

    Opens its own units of work and reports each step to ``progress(step, done, total)``.
    Returns ``(shop_slug, username, password)`` for the login banner.
    """
    from shangliao.demo.shop import seed_demo

    seed_demo(rt, slug=DEMO_SHOP_SLUG, username=DEMO_USERNAME, password=DEMO_PASSWORD, progress=progress)
    return DEMO_SHOP_SLUG, DEMO_USERNAME, DEMO_PASSWORD


def seed_large_shop(rt: Runtime, orders: int, progress: ProgressFn) -> str:
    """Create a shop with ``orders`` synthetic orders (commit in batches; call ``progress(done)``).

    Written in bulk with every invariant of the services (``shangliao.demo.bulk``): about 8,000
    orders a second on SQLite, a million in a little over two minutes. Returns the new shop's slug.
    """
    from shangliao.demo.bulk import seed_bulk

    return seed_bulk(rt, orders=orders, progress=progress)
