"""The order list's first page for a member who sees only their own orders, against the owner's.

    .venv/bin/python bench/authz.py [--data DIR] [--verbose]

What it does (the first run seeds, about 10 minutes on a laptop; then a minute or two):

1. Two data folders under ``--data`` (default ``/tmp/shangliao-authz``, kept between runs), each
   with one shop made by ``shangliao seed`` (bench/order_list.py's ``build``): ``large``
   (1,000,000 orders) and ``small`` (10,000).
2. Once per folder: ten members; the orders spread over them by id (each member a tenth), one
   order in fifty left unassigned; a custom role with data scope "assigned" (no unassigned) for
   the first member, ``agent``; the built-in 客服 role (assigned + unassigned) for the second,
   ``agent_plus``. Then ``ANALYZE``, as the seed does.
3. API tokens for the owner, ``agent`` and ``agent_plus``; each one's first page of
   ``GET /api/v1/orders`` is checked (20 orders, a next cursor, only rows in their scope).
4. The real server (``uvicorn``, core 0, one per data folder, both up throughout) answers ``wrk``
   with one connection (core 1): the median latency of a ``--seconds`` run for each caller, once
   per round, ``--rounds`` rounds one after another (A B C A B C …: the machine's drift moves a
   round's figures alike).

The last line prints ``ratio=`` (the agent's page ÷ the owner's, at a million, target <= 1.1:
scoping costs no more than not scoping), ``growth_ratio=`` (the agent's page at a million ÷ at
ten thousand, target <= 2: the scope is walked on an index, not filtered from the shop's rows)
and ``plus_ratio=`` (the assigned + unassigned member's page ÷ the owner's: two index walks
merged). docs/benchmarks.md records results.
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

from sqlalchemy import select

from harness import BenchFailure, check_quiet, require_tools, serve, server_env
from order_list import _biggest_bulk_shop, build, wrk_get_p50
from shangliao.auth import service as auth
from shangliao.auth.actor import Actor
from shangliao.auth.models import Role, Staff
from shangliao.auth.passwords import hash_password
from shangliao.auth.permissions import BUILTIN_ROLES, CUSTOM, SCOPE_ASSIGNED, permissions_for
from shangliao.config import Settings
from shangliao.runtime import Runtime

LIST_URL = "/api/v1/orders"
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
        password = hash_password("correct horse battery")
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


def _token(rt: Runtime, shop: Shop, staff_id: int, role: str) -> str:
    with rt.db.write() as session:
        actor = Actor(shop.id, staff_id, role, permissions_for(role), "token")
        token, _ = auth.do_create_token(session, actor, name="bench authz", scopes=None, days=1)
        return token


def prepare(folder: Path) -> dict[str, str]:
    """The folder's members and spread (once), and a token per caller, each one's page checked."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TestClient's httpx deprecation notice
        from fastapi.testclient import TestClient

    from shangliao.app import create_app

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
        allowed = {"owner": None, "agent": {shop.members[0]}, "agent_plus": {shop.members[1], None}}
        app = create_app(runtime=rt)
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
        return tokens
    finally:
        rt.close()


def measure(data: Path, tokens: dict[str, dict[str, str]], args) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {}
    targets = [("large", c) for c in CALLERS] + [("small", "agent")]
    with ExitStack() as stack:
        urls = {
            name: stack.enter_context(
                serve(
                    "shangliao.app:serving_app",
                    env=server_env({"SHANGLIAO_DATA_DIR": str(data / name)}),
                    log_path=data / name / "bench-authz-server.log",
                )
            ).url
            for name in ("small", "large")
        }
        for name, caller in targets:
            wrk_get_p50(urls[name] + LIST_URL, tokens[name][caller], seconds=args.warmup, label="warm-up")
        for _ in range(args.rounds):
            for name, caller in targets:
                ms, _ = wrk_get_p50(
                    urls[name] + LIST_URL,
                    tokens[name][caller],
                    seconds=args.seconds,
                    label=f"{name} {caller}",
                )
                figures.setdefault(f"page_ms_{caller}_{name}", []).append(ms)
    return figures


def run(args: argparse.Namespace) -> None:
    require_tools()
    busy = check_quiet()
    if busy:
        print(f"# warning: before the run, {busy}")
    data = Path(args.data)
    print(f"# {date.today().isoformat()} data in {data}; GET {LIST_URL}; servers on core 0, wrk on core 1")
    sizes = {"small": args.small, "large": args.large}
    for name, orders in sizes.items():
        folder = data / name
        if not (folder / "shangliao.db").exists():
            seconds = build(folder, orders)
            print(f"seed_{name}_seconds={seconds:.1f}")
    tokens = {name: prepare(data / name) for name in sizes}
    figures = measure(data, tokens, args)
    for key, values in figures.items():
        print(f"{key}={statistics.median(values):.3f}")
    rounds = range(args.rounds)
    ratios = {
        "ratio": [figures["page_ms_agent_large"][i] / figures["page_ms_owner_large"][i] for i in rounds],
        "growth_ratio": [
            figures["page_ms_agent_large"][i] / figures["page_ms_agent_small"][i] for i in rounds
        ],
        "plus_ratio": [
            figures["page_ms_agent_plus_large"][i] / figures["page_ms_owner_large"][i] for i in rounds
        ],
    }
    if args.verbose:
        for key, values in ratios.items():
            print(f"# {key} per round: {' '.join(f'{v:.2f}' for v in values)}")
    print(" ".join(f"{key}={statistics.median(values):.2f}" for key, values in ratios.items()))


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
