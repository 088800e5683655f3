"""``shangliao shop create|list``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import func, select

from shangliao.auth.models import Staff
from shangliao.auth.service import do_create_staff
from shangliao.cli.common import (
    PASSWORD_ENV,
    console,
    open_runtime,
    password_or_prompt,
    reports_errors,
    say,
    settings,
    t,
)
from shangliao.core.i18n import N_
from shangliao.runtime import Runtime
from shangliao.shops.models import Shop
from shangliao.shops.service import do_create_shop

app = typer.Typer(
    rich_markup_mode="markdown",
    help="Create and list shops. One installation serves many shops; each has its own staff and data.",
    no_args_is_help=True,
)


def create_shop_with_owner(
    rt: Runtime,
    *,
    slug: str,
    name: str,
    timezone: str,
    owner: str | None,
    password: str | None,
    existing_ok: bool = False,
) -> None:
    """Create the shop (and its owner when ``owner`` is given) in one unit of work.

    ``existing_ok`` (for ``init``, which may run again) leaves an existing shop untouched.
    """
    if existing_ok:
        with rt.db.read() as session:
            if session.scalar(select(Shop.id).where(Shop.slug == slug)) is not None:
                say(N_("Shop {slug} exists already; left unchanged."), slug=slug)
                return
    secret = password_or_prompt(password, for_whom=owner) if owner else None
    with rt.db.write() as session:
        shop = do_create_shop(session, slug=slug, name=name, timezone=timezone)
        if owner and secret:
            do_create_staff(session, shop.id, username=owner, password=secret, role="owner")
    say(N_("Created shop {slug} ({name})."), slug=slug, name=name)
    if owner:
        say(N_("Created owner {username}; they can sign in now."), username=owner)


@app.command("create")
@reports_errors
def create(
    slug: Annotated[
        str, typer.Option("--slug", help="The shop's address: 3-40 lowercase letters, digits or dashes.")
    ],
    name: Annotated[str, typer.Option("--name", help="Display name, e.g. 小茶铺.")],
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone", help="IANA time zone for order numbers and reports (default Asia/Shanghai)."
        ),
    ] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Also create the owner account with this username.")
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            "--password", envvar=PASSWORD_ENV, help="The owner's password; asked on a terminal if left out."
        ),
    ] = None,
) -> None:
    """Create a shop, optionally with its owner.

    Example:  shangliao shop create --slug tea --name 小茶铺 --owner alice --password '…'
    """
    with open_runtime() as rt:
        create_shop_with_owner(
            rt,
            slug=slug,
            name=name,
            timezone=timezone or settings().default_timezone,
            owner=owner,
            password=password,
        )


@app.command("list")
@reports_errors
def list_shops() -> None:
    """List every shop of this installation with its number of staff accounts."""
    staff_count = (
        select(Staff.shop_id, func.count().label("n")).group_by(Staff.shop_id).subquery("staff_count")
    )
    stmt = (
        select(Shop.id, Shop.slug, Shop.name, Shop.timezone, Shop.created_at, staff_count.c.n)
        .outerjoin(staff_count, staff_count.c.shop_id == Shop.id)
        .order_by(Shop.id)
    )
    with open_runtime() as rt, rt.db.read() as session:
        rows = session.execute(stmt).all()
    if not rows:
        say(N_("No shops yet. Create one with: shangliao shop create --slug … --name …"))
        return
    table = Table(title=t(N_("Shops")))
    for header in (
        N_("ID"),
        N_("Slug"),
        N_("Name"),
        N_("Time zone"),
        N_("Staff accounts"),
        N_("Created (UTC)"),
    ):
        table.add_column(t(header), overflow="fold")
    for shop_id, slug, name, tz, created_at, n in rows:
        cells = (str(shop_id), slug, name, tz, str(n or 0), created_at.strftime("%Y-%m-%d %H:%M"))
        table.add_row(*(escape(c) for c in cells))  # a shop named "[red]" is text, not markup
    console.print(table)
