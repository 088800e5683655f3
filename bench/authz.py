"""The order list's first page for a member who sees only their own orders, against the owner's:
the API's and the console's (the HTML page, with its tab counts).

    .venv/bin/python bench/authz.py [--data DIR] [--verbose]

What it does (the first run seeds, about 10 minutes on a laptop; then a minute or two):

1. Two data folders under ``--data`` (default ``/tmp/shangliao-authz``, kept between runs), each
   with one shop made by ``shangliao seed`` (bench/order_list.py's ``build``): ``large``
   (1,000,000 orders) and ``small`` (10,000).
2. Once per folder: ten members; the orders spread over them by id (each member a tenth), one
   order in fifty left unassigned; a custom role with data scope "assigned" (no unassigned) for
   the first member, ``agent``; the built-in 客服 role (assigned + unassigned) for the second,
   ``agent_plus``. Then ``ANALYZE``, as the seed does.
3. API tokens and console sessions for the owner, ``agent`` and ``agent_plus``; each one's first
   page of ``GET /api/v1/orders`` is checked (20 orders, a next cursor, only rows in their scope),
   and their console list ``GET /orders`` answers 200 with the tabs' counts.
4. The real server (``uvicorn``, core 0, one per data folder, both up throughout) answers ``wrk``
   with one connection (core 1): the median latency of a ``--seconds`` run for each caller, once
   per round, ``--rounds`` rounds one after another (A B C A B C …: the machine's drift moves a
   round's figures alike).

The last two lines, ``api`` and ``console``, print ``ratio=`` (the agent's page ÷ the owner's, at a
million, target <= 1.1:
scoping costs no more than not scoping), ``growth_ratio=`` (the agent's page at a million ÷ at
ten thousand, target <= 2: the scope is walked on an index, not filtered from the shop's rows)
and ``plus_ratio=`` (the assigned + unassigned member's page ÷ the owner's: two index walks
merged). docs/benchmarks.md records results.

A data folder seeded under an older schema (pre-release, migration 0001 is regenerated in place,
there is no upgrade) is caught up once: the tables the models have and it lacks are made, the
order count triggers installed again and the counts rebuilt (``_catch_up``).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import warnings
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from harness import BenchFailure, require_tools, warn_if_busy
from order_list import _biggest_bulk_shop, build, serve_shangliao_on_each, wrk_get_p50
from shangliao.auth import service as auth
from shangliao.auth.actor import Actor
from shangliao.auth.models import Role, Staff
from shangliao.auth.passwords import hash_password, verify_password
from shangliao.auth.permissions import BUILTIN_ROLES, CUSTOM, SCOPE_ASSIGNED, permissions_for
from shangliao.config import Settings
from shangliao.orders import counts
from shangliao.runtime import Runtime
from shangliao.storage.base import all_models

LIST_URL = "/api/v1/orders"
CONSOLE_URL = "/orders"  # the console's list: its first page and the tabs' counts
SURFACES = {"api": LIST_URL, "console": CONSOLE_URL}
PASSWORD = "correct horse battery"
MEMBERS = 10
ROLE_NAME = "bench assigned-only"
# The custom role: what a customer-service member needs, seeing only what is assigned to them.
AGENT_PERMISSIONS = sorted(BUILTIN_ROLES["agent"].grant.permissions)
CALLERS = ("owner", "agent", "agent_plus")


@dataclass(frozen=True)
class Shop:
    id: int
    owner_id: int
    members: list[int]  # staff ids; [0] holds the custom role, [1] the built-in agent role


def _members(rt: Runtime, shop_id: int) -> Shop:
    """The shop's owner and its bench members, made (with the custom role) the first time."""
    with rt.db.write() as session:
        staff = session.scalars(select(Staff).where(Staff.shop_id == shop_id).order_by(Staff.id)).all()
        owner, members = staff[0], [s.id for s in staff[1:]]
        if len(members) >= MEMBERS:
            return Shop(shop_id, owner.id, members[:MEMBERS])
        role = Role(
            shop_id=shop_id,
            name=ROLE_NAME,
            permissions=AGENT_PERMISSIONS,
            data_scope=SCOPE_ASSIGNED,
            sees_unassigned=False,
        )
        session.add(role)
        session.flush()
        password = hash_password(PASSWORD)
        for i in range(MEMBERS):
            custom = i == 0
            member = Staff(
                shop_id=shop_id,
                username=f"bench_member_{shop_id}_{i}",
                display_name=f"成员{i}",
                password_hash=password,
                role=CUSTOM if custom else "agent",
                role_id=role.id if custom else None,
            )
            session.add(member)
            session.flush()
            members.append(member.id)
        return Shop(shop_id, owner.id, members)


def _spread(db_path: Path, shop: Shop) -> None:
    """Each member a tenth of the orders (by id), one in fifty unassigned; then fresh statistics."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        cases = " ".join(f"WHEN {i} THEN {staff_id}" for i, staff_id in enumerate(shop.members))
        conn.execute("BEGIN")
        conn.execute(
            f"UPDATE orders SET assignee_id = CASE id % {MEMBERS} {cases} END WHERE shop_id = ?", (shop.id,)
        )
        conn.execute("UPDATE orders SET assignee_id = NULL WHERE shop_id = ? AND id % 50 = 49", (shop.id,))
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
    finally:
        conn.close()


def _catch_up(db_path: Path) -> None:
    """Bring a folder seeded under an older schema up to the models (see the module's notes).
    Before the runtime is built: its start-up checks read the tables a newer schema added."""
    engine = create_engine(f"sqlite:///{db_path}")
    try:
        with engine.begin() as conn:
            found = conn.execute(text("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')"))
            known = set(found.scalars())
            models = all_models()
            indexes = {i.name: i for t in models.sorted_tables for i in t.indexes}
            if set(counts.TRIGGER_NAMES) | set(models.tables) | set(indexes) <= known:
                return
            stale = conn.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'ix_orders_shop_assignee_status'")
            )
            if "created_at" not in (stale.scalar() or "created_at"):  # its older shape
                conn.execute(text("DROP INDEX ix_orders_shop_assignee_status"))
            models.create_all(conn, checkfirst=True)
            for index in indexes.values():
                index.create(conn, checkfirst=True)
            counts.drop_triggers(lambda sql: conn.execute(text(sql)), "sqlite")
            counts.create_triggers(lambda sql: conn.execute(text(sql)), "sqlite")
            conn.execute(text("PRAGMA analysis_limit = 1000"))  # sampled, as the seed's
            conn.execute(text("ANALYZE"))
        with Session(engine) as session, session.begin():
            for shop_id in session.scalars(text("SELECT id FROM shops")).all():
                counts.recount(session, shop_id)
    finally:
        engine.dispose()


def _session(rt: Runtime, staff_id: int) -> str:
    """A console session of the member (the owner's password is set to the bench's first)."""
    with rt.db.write() as session:
        staff = session.get(Staff, staff_id)
        if not verify_password(staff.password_hash, PASSWORD):
            auth.do_set_password(session, staff, PASSWORD)
        username = staff.username
    raw, _, _ = auth.login(rt.db, username, PASSWORD, days=1)
    return raw


def _token(rt: Runtime, shop: Shop, staff_id: int, role: str) -> str:
    with rt.db.write() as session:
        actor = Actor(shop.id, staff_id, role, permissions_for(role), "token")
        token, _ = auth.do_create_token(session, actor, name="bench authz", scopes=None, days=1)
        return token


def prepare(folder: Path) -> dict[str, dict[str, str]]:
    """The folder's members and spread (once), and per surface a header per caller (a token, a
    session's cookie), each one's page checked."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TestClient's httpx deprecation notice
        from fastapi.testclient import TestClient

    from shangliao.app import create_app

    _catch_up(folder / "shangliao.db")
    rt = Runtime.build(Settings(data_dir=folder, database_url=None, secret_key=None, log_sql=False))
    try:
        shop_id, _, _ = _biggest_bulk_shop(rt)
        shop = _members(rt, shop_id)
        marker = folder / "bench-authz-spread"
        if not marker.exists():
            _spread(folder / "shangliao.db", shop)
            marker.write_text("orders spread over the bench members\n")
        tokens = {
            "owner": _token(rt, shop, shop.owner_id, "owner"),
            "agent": _token(rt, shop, shop.members[0], CUSTOM),
            "agent_plus": _token(rt, shop, shop.members[1], "agent"),
        }
        staff_ids = {"owner": shop.owner_id, "agent": shop.members[0], "agent_plus": shop.members[1]}
        cookies = {
            caller: f"Cookie: {auth.SESSION_COOKIE}={_session(rt, staff_id)}"
            for caller, staff_id in staff_ids.items()
        }
        allowed = {"owner": None, "agent": {shop.members[0]}, "agent_plus": {shop.members[1], None}}
        app = create_app(runtime=rt)
        for caller, cookie in cookies.items():
            name, value = cookie.split(": ", 1)  # what wrk sends
            page = TestClient(app, headers={name: value}, follow_redirects=False).get(CONSOLE_URL)
            if page.status_code != 200 or "pending" not in page.text:
                raise BenchFailure(f"{folder.name} {caller}: the console list answered {page.status_code}")
        for caller, token in tokens.items():
            body = TestClient(app, headers={"Authorization": f"Bearer {token}"}).get(LIST_URL).json()
            items = body.get("items", [])
            if len(items) != 20 or body["next_cursor"] is None:
                raise BenchFailure(
                    f"{folder.name} {caller}: the first page holds {len(items)} orders: {body}"
                )
            seen = {o["assignee_id"] for o in items}
            if allowed[caller] is not None and not seen <= allowed[caller]:
                raise BenchFailure(f"{folder.name} {caller}: the page shows orders of {seen}")
        return {
            "api": {caller: f"Authorization: Bearer {token}" for caller, token in tokens.items()},
            "console": cookies,
        }
    finally:
        rt.close()


def measure(data: Path, headers: dict[str, dict[str, dict[str, str]]], args) -> dict[str, list[float]]:
    """``headers[folder][surface][caller]``; figures ``{surface}_ms_{caller}_{folder}`` per round."""
    figures: dict[str, list[float]] = {}
    callers = [("large", c) for c in CALLERS] + [("small", "agent")]
    targets = [(name, surface, caller) for surface in SURFACES for name, caller in callers]
    with ExitStack() as stack:
        urls = serve_shangliao_on_each(stack, data, ("small", "large"), "bench-authz-server.log")
        for name, surface, caller in targets:
            header = headers[name][surface][caller]
            wrk_get_p50(
                urls[name] + SURFACES[surface], "", seconds=args.warmup, label="warm-up", header=header
            )
        for _ in range(args.rounds):
            for name, surface, caller in targets:
                ms, _ = wrk_get_p50(
                    urls[name] + SURFACES[surface],
                    "",
                    seconds=args.seconds,
                    label=f"{name} {surface} {caller}",
                    header=headers[name][surface][caller],
                )
                figures.setdefault(f"{surface}_ms_{caller}_{name}", []).append(ms)
    return figures


def run(args: argparse.Namespace) -> None:
    require_tools()
    warn_if_busy()
    data = Path(args.data)
    print(
        f"# {date.today().isoformat()} data in {data}; GET {LIST_URL} and {CONSOLE_URL};"
        " servers on core 0, wrk on core 1"
    )
    sizes = {"small": args.small, "large": args.large}
    for name, orders in sizes.items():
        folder = data / name
        if not (folder / "shangliao.db").exists():
            seconds = build(folder, orders)
            print(f"seed_{name}_seconds={seconds:.1f}")
    headers = {name: prepare(data / name) for name in sizes}
    figures = measure(data, headers, args)
    for key, values in figures.items():
        print(f"{key}={statistics.median(values):.3f}")
    for surface in SURFACES:
        ratios = _ratios(figures, surface, args.rounds)
        if args.verbose:
            for key, values in ratios.items():
                print(f"# {surface} {key} per round: {' '.join(f'{v:.2f}' for v in values)}")
        print(surface, " ".join(f"{key}={statistics.median(values):.2f}" for key, values in ratios.items()))


def _ratios(figures: dict[str, list[float]], surface: str, rounds: int) -> dict[str, list[float]]:
    """Each round's ratios (the machine's drift moves a round's figures alike)."""

    def per_round(top: str, bottom: str) -> list[float]:
        a, b = figures[f"{surface}_ms_{top}"], figures[f"{surface}_ms_{bottom}"]
        return [a[i] / b[i] for i in range(rounds)]

    return {
        "ratio": per_round("agent_large", "owner_large"),
        "growth_ratio": per_round("agent_large", "agent_small"),
        "plus_ratio": per_round("agent_plus_large", "owner_large"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", default="/tmp/shangliao-authz", help="folder of the two data folders (kept)"
    )
    parser.add_argument("--large", type=int, default=1_000_000, help="orders in the large shop")
    parser.add_argument("--small", type=int, default=10_000, help="orders in the small shop")
    parser.add_argument("--seconds", type=int, default=3, help="length of each measured wrk run (default 3)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of every measurement (default 5)")
    parser.add_argument("--warmup", type=int, default=2, help="length of each warm-up run (default 2)")
    parser.add_argument("--verbose", action="store_true", help="print each round's ratios")
    run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
