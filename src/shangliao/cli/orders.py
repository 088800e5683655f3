"""``shangliao orders archive`` and ``export``: housekeeping for finished orders, and the shop's
orders to a spreadsheet."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeRemainingColumn,
)

from shangliao.cli.common import console, fail, open_runtime, parse_duration, reports_errors, say, t
from shangliao.core import clock
from shangliao.core.i18n import N_
from shangliao.shops.service import access_shop_by_slug

app = typer.Typer(rich_markup_mode="markdown", help="Order housekeeping and exports.", no_args_is_help=True)


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


@app.command("export")
@reports_errors
def export(
    shop: Annotated[str, typer.Argument(help="The shop's slug.")],
    out: Annotated[Path, typer.Option("--out", help="The file to write (.xlsx or .csv).")],
    status: Annotated[
        list[str] | None, typer.Option("--status", help="Only orders in this status (repeatable).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--from", help="Placed on or after this day (YYYY-MM-DD, the shop's zone).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--to", help="Placed on or before this day (YYYY-MM-DD, the shop's zone).")
    ] = None,
    archived: Annotated[
        Literal["false", "true", "all"],
        typer.Option("--archived", help="Archived orders: leave out, only, or with the rest."),
    ] = "all",
    lang: Annotated[Literal["zh_CN", "en"], typer.Option("--lang", help="The headers' language.")] = "zh_CN",
) -> None:
    """Write the shop's orders to a spreadsheet: an orders sheet and an order-lines sheet (.xlsx), or
    a row per order line (.csv, UTF-8 for Excel). Personal data goes in unmasked: keep the file safe.
    The export is recorded in the shop's audit log.

    Example:  shangliao orders export tea --out orders.xlsx --from 2026-12-01 --to 2026-12-31
    """
    from shangliao.audit.log import record_audit
    from shangliao.auth.scope import Scope
    from shangliao.customers.masking import FULL
    from shangliao.exports import rows
    from shangliao.exports.service import exported_query, write_file
    from shangliao.orders.listing import OrderQuery

    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("xlsx", "csv"):
        fail(t(N_("The file must end in .xlsx or .csv.")))
    given = {"status": status, "created_from": _day(since), "created_to": _day(until)}
    query = OrderQuery.model_validate({"archived": archived} | {k: v for k, v in given.items() if v})
    with open_runtime() as rt:
        with rt.db.read() as session:
            found = access_shop_by_slug(session, shop)
            shop_id, timezone = found.id, found.timezone
        reader = rows.Reader(
            rt.keyring, Scope.whole_shop(shop_id), timezone, exported_query(query), FULL, lang
        )
        with rt.db.snapshot() as conn:
            total = rows.count(conn, reader)
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=console, transient=True,
        ) as bar:  # fmt: skip
            task = bar.add_task(t(N_("Exporting orders")), total=total)
            done = write_file(rt, reader, fmt, out, lambda n: bar.update(task, completed=n))
        with rt.db.write() as session:
            record_audit(
                session, shop_id, "export.orders", actor_type="cli",
                data={"format": fmt, "orders": done, "full": True},
            )  # fmt: skip
    say(N_("Exported {n} orders to {path}."), n=done, path=str(out))


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(t(N_("Not a day: {text} (YYYY-MM-DD)."), text=text))
