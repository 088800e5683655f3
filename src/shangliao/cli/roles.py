"""``shangliao role list``: the roles a shop's members can hold, built-in and the shop's own."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.auth.models import Role
from shangliao.auth.permissions import BUILTIN_ROLES
from shangliao.auth.team import RoleChoice, builtin_choice, custom_choice, list_roles
from shangliao.cli.common import fail, open_runtime, reports_errors, say, t
from shangliao.core.i18n import N_
from shangliao.shops.service import access_shop_by_slug

app = typer.Typer(rich_markup_mode="markdown", help="The roles members can hold.", no_args_is_help=True)


def role_by_name(session: Session, shop_id: int, name: str) -> RoleChoice:
    """A built-in role by its key (owner, admin, agent, warehouse, finance), else the shop's own
    role of that name; an unknown name stops the command."""
    if name in BUILTIN_ROLES:
        return builtin_choice(name)
    row = session.scalar(select(Role).where(Role.shop_id == shop_id, Role.name == name))
    if row is None:
        fail(t(N_("No role named {name} in this shop; see `shangliao role list`."), name=name))
    return custom_choice(row)


@app.command("list")
@reports_errors
def list_(shop: Annotated[str, typer.Option("--shop", help="Slug of the shop.")]) -> None:
    """List the built-in roles and the shop's own: data scope, members and permissions.

    Example:  shangliao role list --shop tea
    """
    with open_runtime() as rt, rt.db.read() as session:
        roles = list_roles(session, access_shop_by_slug(session, shop).id)
    for role in roles:
        name = role["key"] if role["builtin"] else role["name"]
        label = t(role["name"]) if role["builtin"] else t(N_("own role"))
        scope = role["data_scope"] + ("+unassigned" if role["sees_unassigned"] else "")
        say(
            N_("{name} ({label}): scope {scope}, {n} members; {permissions}"),
            name=name,
            label=label,
            scope=scope,
            n=role["members"],
            permissions=", ".join(role["permissions"]) or "-",
        )
