"""``shangliao db upgrade|current|check``: the database schema (Alembic migrations)."""

from __future__ import annotations

from typing import Annotated

import typer

from shangliao.cli.common import (
    check_key_present,
    console,
    database_revision,
    describe_database,
    fail,
    report_upgrade,
    reports_errors,
    say,
    settings,
    t,
)
from shangliao.core.i18n import N_
from shangliao.storage import migrate

app = typer.Typer(
    rich_markup_mode="markdown",
    help="Inspect and upgrade the database schema. Back up the data folder before upgrading.",
    no_args_is_help=True,
)


@app.command("upgrade")
@reports_errors
def upgrade(
    revision: Annotated[
        str, typer.Option("--to", help="Target revision; 'head' (default) is the newest.")
    ] = "head",
) -> None:
    """Apply the migrations the database lacks (all in one transaction).

    Run it after installing a new version of Shangliao, with the server stopped.
    """
    s = settings()
    before = database_revision(s)
    check_key_present(s, before)
    if s.is_sqlite:
        s.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(s.resolved_database_url, revision)
    report_upgrade(s, before, migrate.current(s.resolved_database_url))


@app.command("current")
@reports_errors
def current() -> None:
    """Show the database's schema revision and the newest one this version knows."""
    s = settings()
    revision = database_revision(s)
    head = migrate.head()
    say(N_("Database: {db}"), db=describe_database(s))
    say(N_("Revision: {rev} (newest: {head})"), rev=revision or t(N_("none, not initialised")), head=head)
    if revision == head:
        say(N_("Up to date."))
    else:
        say(N_("Not up to date: run `shangliao db upgrade`."))


@app.command("check")
@reports_errors
def check() -> None:
    """Exit 0 when the database is at the newest revision and matches the models, 1 otherwise.

    Useful in deployment scripts and health checks; lists every difference it finds.
    """
    s = settings()
    revision = database_revision(s)
    if revision is None:
        fail(t(N_("No Shangliao database at {db} yet. Run `shangliao init` first."), db=describe_database(s)))
    status = migrate.status(s.resolved_database_url)
    if not status.at_head:
        fail(
            t(
                N_(
                    "The database is at revision {current}, the newest is {head}: run `shangliao db upgrade`."
                ),
                current=status.current,
                head=status.head,
            )
        )
    if status.differences:
        err = t(N_("The database schema differs from the models:"))
        lines = "\n".join(f"  - {migrate.describe(d)}" for d in status.differences)
        fail(f"{err}\n{lines}")
    console.print(t(N_("Database schema matches the models (revision {rev})."), rev=status.current))
