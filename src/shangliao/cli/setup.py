"""``shangliao init``, ``demo`` and ``seed``: preparing an installation and filling it with data."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from sqlalchemy import select

from shangliao.cli.common import (
    PASSWORD_ENV,
    check_key_present,
    console,
    database_revision,
    open_runtime,
    report_upgrade,
    reports_errors,
    say,
    settings,
    t,
)
from shangliao.cli.serving import DEFAULT_HOST, DEFAULT_PORT, HostOption, PortOption, run_server
from shangliao.cli.shops import create_shop_with_owner
from shangliao.config import Settings, ensure_data_dir
from shangliao.core.i18n import N_
from shangliao.shops.models import Shop
from shangliao.storage import migrate


def initialise(s: Settings) -> None:
    """Data folder, key file and schema; safe to repeat (existing data and key are kept)."""
    revision = database_revision(s)
    check_key_present(s, revision)
    created_key = s.secret_key is None and not s.key_file.exists()
    ensure_data_dir(s)
    say(N_("Data folder: {path}"), path=s.data_dir.resolve())
    if created_key:
        say(
            N_("Created the secret key {path} (mode 0600). Back it up with the database."),
            path=s.key_file.resolve(),
        )
    migrate.upgrade(s.resolved_database_url)
    report_upgrade(s, revision, migrate.head())


@reports_errors
def init(
    shop_slug: Annotated[
        str | None,
        typer.Option("--shop-slug", help="Create a first shop with this address (3-40 of a-z, 0-9, -)."),
    ] = None,
    shop_name: Annotated[
        str | None, typer.Option("--shop-name", help="Display name of the first shop, e.g. 小茶铺.")
    ] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Username of the first shop's owner account.")
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            "--password",
            envvar=PASSWORD_ENV,
            help="The owner's password (8+ characters). Asked for on a terminal when left out.",
        ),
    ] = None,
    timezone: Annotated[
        str | None, typer.Option("--timezone", help="The shop's time zone (default Asia/Shanghai).")
    ] = None,
) -> None:
    """Prepare the data folder and database; optionally create a first shop and its owner.

    Creates the data folder (./shangliao-data unless SHANGLIAO_DATA_DIR or --data-dir says
    otherwise) with a secret key file (mode 0600) and uploads folder, and brings the database to the
    newest schema. Running it again keeps all data: it only applies missing migrations.

    Example:  shangliao init --shop-slug tea --shop-name 小茶铺 --owner alice --password '…'
    """
    s = settings()
    wants_shop = any(v is not None for v in (shop_slug, shop_name, owner, password))
    if wants_shop and (not shop_slug or not owner):
        raise typer.BadParameter(
            t(N_("To create a first shop, give both --shop-slug and --owner.")), param_hint="--shop-slug"
        )
    initialise(s)
    if wants_shop:
        assert shop_slug and owner  # checked above
        with open_runtime() as rt:
            create_shop_with_owner(
                rt,
                slug=shop_slug,
                name=shop_name or shop_slug,
                timezone=timezone or s.default_timezone,
                owner=owner,
                password=password,
                existing_ok=True,
            )
    say(N_("Ready. Start the server with: shangliao serve"))


def _demo_shop_exists(slug: str) -> bool:
    with open_runtime() as rt, rt.db.read() as session:
        return session.scalar(select(Shop.id).where(Shop.slug == slug)) is not None


def _seed_demo_showing_progress(rt) -> tuple[str, str, str]:
    """Seed the demo shop with a line per step and a bar for the orders (it takes 15 s to a minute).

    Rich redraws the lines in place on a terminal, and prints them once when done elsewhere
    (``make demo | tee``), so the output never floods.
    """
    from shangliao.cli import seeding

    say(N_("Creating the demo shop (first run only, up to a minute)…"))
    steps: dict[str, TaskID] = {}
    with Progress(
        TextColumn("  {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as bar:

        def progress(step: str, done: int, total: int) -> None:
            if step not in steps:
                steps[step] = bar.add_task(t(step), total=total)
            bar.update(steps[step], completed=done, total=total)

        return seeding.seed_demo_shop(rt, progress)


@reports_errors
def demo(host: HostOption = DEFAULT_HOST, port: PortOption = DEFAULT_PORT) -> None:
    """Try Shangliao: initialise, add a demo shop with sample data (first run only), then serve.

    Re-running keeps your data: the demo shop is created only when it does not exist yet.
    The URL and the demo login are printed before the server starts.
    """
    from shangliao.cli import seeding  # filled in later than the rest of the CLI; keep it lazy
    from shangliao.demo.team import team_logins

    s = settings()
    initialise(s)
    if _demo_shop_exists(seeding.DEMO_SHOP_SLUG):
        slug, username, password = seeding.DEMO_SHOP_SLUG, seeding.DEMO_USERNAME, seeding.DEMO_PASSWORD
        say(N_("The demo shop {slug} exists already; your data is kept."), slug=slug)
    else:
        with open_runtime() as rt:
            slug, username, password = _seed_demo_showing_progress(rt)
    url = f"http://{host}:{port}"
    console.print(
        Panel.fit(
            "\n".join(
                [
                    f"[bold]{t(N_('Open'))}[/]  {url}",
                    f"[bold]{t(N_('Shop'))}[/]  {slug}",
                    f"[bold]{t(N_('Login'))}[/]  {username} / {password}",
                    # The demo team signs in with the same password (demo/team.py).
                    *(f"[bold]{name}[/]  {member} / {password}" for member, name in team_logins(username)),
                    f"[bold]{t(N_('Customers chat at'))}[/]  {url}/s/{slug}",
                    f"[bold]API[/]  {url}/api/v1/docs",
                ]
            ),
            title=t(N_("Shangliao demo")),
        )
    )
    run_server(host, port)


@reports_errors
def seed(
    orders: Annotated[
        int, typer.Option("--orders", min=1, help="How many synthetic orders to create.")
    ] = 10_000,
) -> None:
    """Create a large synthetic shop (products, customers, orders) for trying scale and benchmarks.

    A progress bar shows how far it is. The data is invented; use a separate data folder
    (--data-dir) if you do not want it next to real shops.

    Example:  shangliao --data-dir /tmp/big seed --orders 200000
    """
    from shangliao.cli import seeding

    with (
        open_runtime() as rt,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
        ) as bar,
    ):
        task = bar.add_task(t(N_("Creating orders")), total=orders)
        result = seeding.seed_large_shop(rt, orders, lambda done: bar.update(task, completed=done))
    if isinstance(result, str):
        say(N_("Seeded shop {slug} with {n} orders."), slug=result, n=orders)
    else:
        say(N_("Seeded {n} orders."), n=orders)
