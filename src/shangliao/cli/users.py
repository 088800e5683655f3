"""``shangliao user create|passwd``: staff accounts from the command line (e.g. a forgotten password)."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select

from shangliao.audit.log import record_audit
from shangliao.auth.models import Staff
from shangliao.auth.permissions import BUILTIN_ROLES
from shangliao.auth.service import do_set_password
from shangliao.auth.team import join
from shangliao.cli.common import (
    PASSWORD_ENV,
    fail,
    open_runtime,
    password_or_prompt,
    reports_errors,
    say,
    t,
)
from shangliao.cli.roles import role_by_name
from shangliao.core.i18n import N_
from shangliao.shops.service import access_shop_by_slug

app = typer.Typer(
    rich_markup_mode="markdown", help="Create staff accounts and reset their passwords.", no_args_is_help=True
)

PasswordOption = Annotated[
    str | None,
    typer.Option(
        "--password",
        envvar=PASSWORD_ENV,
        help="The password (8+ characters). Asked for on a terminal when left out; never asked without one.",
    ),
]


@app.command("create")
@reports_errors
def create(
    shop: Annotated[str, typer.Option("--shop", help="Slug of the shop the account belongs to.")],
    username: Annotated[
        str,
        typer.Option(
            "--username", help="Login name, unique in the installation: 3-64 of A-Z a-z 0-9 . _ @ -"
        ),
    ],
    password: PasswordOption = None,
    display_name: Annotated[
        str,
        typer.Option("--display-name", help="Name shown to colleagues, e.g. 小王. Defaults to the username."),
    ] = "",
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help=f"Role: {', '.join(BUILTIN_ROLES)}, or the name of one of the shop's own roles "
            "(`shangliao role list`).",
        ),
    ] = "owner",
) -> None:
    """Create a staff account in a shop.

    Example:  shangliao user create --shop tea --username bob --display-name 小王 --password '…'
    """
    secret = password_or_prompt(password, for_whom=username)
    with open_runtime() as rt, rt.db.write() as session:
        target = access_shop_by_slug(session, shop)
        choice = role_by_name(session, target.id, role)
        member = join(
            session, target.id, choice, username=username, password=secret, display_name=display_name
        )
        # The operator at the terminal is trusted with any role, as `init` is with the owner.
        record_audit(
            session,
            target.id,
            "team.member_created",
            actor_type="cli",
            target_type="staff",
            target_id=member.id,
            data={"role": choice.role, "role_id": choice.role_id},
        )
    say(N_("Created {role} {username} in shop {slug}."), role=role, username=username, slug=shop)


@app.command("passwd")
@reports_errors
def passwd(
    username: Annotated[str, typer.Argument(help="The account's login name.")],
    password: PasswordOption = None,
) -> None:
    """Set a new password for an account and sign it out of every browser session.

    API tokens the account created keep working; revoke them in the console if they leaked.

    Example:  shangliao user passwd alice --password '…'
    """
    with open_runtime() as rt:
        with rt.db.read() as session:
            exists = session.scalar(select(Staff.id).where(Staff.username == username)) is not None
        if not exists:
            fail(t(N_("No account named {username}."), username=username))
        secret = password_or_prompt(password, for_whom=username)
        with rt.db.write() as session:
            staff = session.scalar(select(Staff).where(Staff.username == username))
            assert staff is not None  # checked above; accounts are never deleted
            do_set_password(session, staff, secret)
    say(N_("Password changed for {username}; their sessions were signed out."), username=username)
