"""``shangliao stats rebuild``: the dashboard's figures made again from the orders."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from shangliao.cli.common import console, open_runtime, reports_errors, say, t
from shangliao.core.i18n import N_
from shangliao.shops.service import access_shop_by_slug

app = typer.Typer(rich_markup_mode="markdown", help="The dashboard's figures.", no_args_is_help=True)


@app.command("rebuild")
@reports_errors
def rebuild(
    shop: Annotated[str | None, typer.Argument(help="The shop's slug; every shop when left out.")] = None,
) -> None:
    """Make a shop's dashboard figures again from its orders, in the shop's time zone.

    Not needed in normal use: the figures follow every change, a shop made before them gets them
    from the worker, and so does a shop whose time zone changed. Safe to run at any time, the
    shop open: changes made meanwhile are counted once.

    Example:  shangliao stats rebuild tea
    """
    from sqlalchemy import select

    from shangliao.shops.models import Shop
    from shangliao.stats.rebuild import rebuild as rebuild_shop

    with open_runtime() as rt:
        with rt.db.read() as session:
            if shop:
                shops = [(access_shop_by_slug(session, shop).id, shop)]
            else:
                shops = list(session.execute(select(Shop.id, Shop.slug).order_by(Shop.id)).tuples())
        orders = 0
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console
        ) as bar:
            task = bar.add_task(t(N_("Rebuilding the figures")), total=len(shops))
            for shop_id, _slug in shops:
                orders += rebuild_shop(rt.db, shop_id).orders
                bar.advance(task)
    say(N_("Rebuilt the figures of {shops} shops from {orders} orders."), shops=len(shops), orders=orders)
