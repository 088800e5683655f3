"""``shangliao user create --role`` with a built-in or a shop's own role, and ``shangliao role list``."""

from __future__ import annotations

from sqlalchemy import select

from shangliao.audit.models import AuditEntry
from shangliao.auth.models import Role, Staff
from shangliao.shops.models import Shop
from tests import test_cli
from tests.test_cli import PASSWORD, Cli, init_with_shop, staff_named

cli = test_cli.cli  # fixture: a temporary data folder


def role_of(shell: Cli, username: str) -> tuple[str, int | None]:
    rt = shell.runtime()
    try:
        with rt.db.read() as session:
            return tuple(
                session.execute(select(Staff.role, Staff.role_id).where(Staff.username == username)).one()
            )
    finally:
        rt.close()


def add_own_role(shell: Cli, name: str, permissions: list[str]) -> int:
    rt = shell.runtime()
    try:
        with rt.db.write() as session:
            shop = session.scalar(select(Shop).where(Shop.slug == "tea"))
            role = Role(shop_id=shop.id, name=name, permissions=permissions, data_scope="assigned")
            session.add(role)
            session.flush()
            return role.id
    finally:
        rt.close()


def create(shell: Cli, username: str, role: str):
    return shell(
        "user", "create", "--shop", "tea", "--username", username, "--password", PASSWORD, "--role", role
    )


def test_user_create_gives_a_built_in_or_the_shops_own_role_and_audits_it(cli):
    init_with_shop(cli)
    role_id = add_own_role(cli, "打包员", ["orders.read", "orders.fulfil"])

    packer = create(cli, "packer", "打包员")
    agent = create(cli, "agent1", "agent")

    assert (packer.exit_code, agent.exit_code) == (0, 0), packer.output + agent.output
    assert role_of(cli, "packer") == ("custom", role_id)
    assert staff_named(cli, "agent1").role == "agent"
    rt = cli.runtime()
    try:
        with rt.db.read() as session:
            audited = session.scalars(
                select(AuditEntry.actor_type).where(AuditEntry.act == "team.member_created")
            )
            assert list(audited) == ["cli", "cli"]
    finally:
        rt.close()


def test_user_create_with_an_unknown_role_is_refused(cli):
    init_with_shop(cli)

    result = create(cli, "bob", "boss")

    assert result.exit_code == 1
    assert "boss" in result.output and "role list" in result.output
    assert staff_named(cli, "bob") is None


def test_role_list_shows_built_in_and_own_roles_with_their_scope(cli):
    init_with_shop(cli)
    add_own_role(cli, "打包员", ["orders.read"])
    create(cli, "packer", "打包员")

    out = cli.ok("role", "list", "--shop", "tea").output

    lines = {line.split(" ", 1)[0]: line for line in out.splitlines()}
    assert "scope assigned+unassigned" in lines["agent"] and "1 members" in lines["owner"]
    assert (
        "own role" in lines["打包员"] and "orders.read" in lines["打包员"] and "1 members" in lines["打包员"]
    )
