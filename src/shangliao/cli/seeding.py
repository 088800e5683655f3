"""Sample data for ``shangliao demo`` and ``shangliao seed``.

Placeholders for now: the orders domain fills these in. The CLI imports this module lazily, only
inside the commands that need it.
"""

from __future__ import annotations

from collections.abc import Callable

from shangliao.runtime import Runtime

# ``shangliao demo`` looks for this shop to decide whether to seed, and prints this login when the
# shop exists already; ``seed_demo_shop`` must create exactly these.
DEMO_SHOP_SLUG = "demo"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "shangliao-demo"

ProgressFn = Callable[[int], None]
"""Called with the number of orders just created, so the CLI can advance its progress bar."""


def seed_demo_shop(rt: Runtime) -> tuple[str, str, str]:
    """Create the demo shop with products, customers, conversations' orders in every state.

    Opens its own units of work. Returns ``(shop_slug, username, password)`` for the login banner.
    """
    raise NotImplementedError("seed_demo_shop is not written yet")


def seed_large_shop(rt: Runtime, orders: int, progress: ProgressFn) -> str:
    """Create a shop with ``orders`` synthetic orders (commit in batches; call ``progress(n)``).

    Returns the new shop's slug.
    """
    raise NotImplementedError("seed_large_shop is not written yet")
