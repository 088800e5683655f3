"""``shangliao orders archive``: housekeeping for finished orders."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn

from shangliao.cli.common import console, open_runtime, parse_duration, reports_errors, say, t
from shangliao.core import clock
from shangliao.core.i18n import N_
from shangliao.shops.service import access_shop_by_slug

app = typer.Typer(rich_markup_mode="markdown", help="Order housekeeping.", no_args_is_help=True)


@app.command("archive")
@reports_errors
def archive(
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than",
            help="Archive completed or cancelled orders finished longer ago than this: 30d, 12h, 2w.",
        ),
    ] = "30d",
    shop: Annotated[
        str | None, typer.Option("--shop", help="Only this shop (its slug); every shop when left out.")
    ] = None,
) -> None:
    """Archive completed and cancelled orders older than a given age.

    Archived orders leave the default order lists but stay searchable and keep their timeline.
    Safe to run from cron: it only touches finished orders and can run again.

    Example:  shangliao orders archive --older-than 30d --shop tea
    """
    cutoff = clock.now() - parse_duration(older_than)
    # Imported here so the rest of the CLI loads even if the orders domain fails to import.
    from shangliao.orders.archive import archive_older_than

    with open_runtime() as rt:
        shop_id = None
        if shop:
            with rt.db.read() as session:
                shop_id = access_shop_by_slug(session, shop).id
        # It commits chunk by chunk, so an interrupted run keeps what it did; the bar counts them.
        with Progress(
            SpinnerColumn(), TextColumn("{task.description} {task.completed}"), console=console
        ) as bar:
            task = bar.add_task(t(N_("Archiving orders")), total=None)
            count = archive_older_than(
                rt.db, shop_id, cutoff, progress=lambda done: bar.update(task, completed=done)
            )
    say(
        N_("Archived {n} orders finished before {cutoff}."),
        n=count,
        cutoff=cutoff.strftime("%Y-%m-%d %H:%M UTC"),
    )
