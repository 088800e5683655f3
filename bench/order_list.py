"""The order list's first page at a million orders against ten thousand, and against its own SQL.

    .venv/bin/python bench/order_list.py [--data DIR] [--verbose]

What it does (the first run builds the data, about 3 minutes; with ``--data`` kept, a minute):

1. Two data folders, each with one shop made by ``shangliao seed``: ``large`` (1,000,000 orders)
   and ``small`` (10,000). With ``--data DIR`` they are made in DIR once and reused afterwards;
   without, in a temporary folder removed at the end. A seed made in this run prints its rate.
2. The request: the first page of ``GET /api/v1/orders`` for one tab, one filter and one search,
   ``status=completed&amount_min=10000&q=王`` by default (a surname: about 1 % of the customers,
   so ~700 matches at 10,000 orders and ~70,000 at a million). Both shops must fill the page
   (20 orders and a next cursor), so both pages render the same amount of work.
3. ``sql_ms``: every statement that request sends to SQLite, recorded in-process, then replayed
   through the bare ``sqlite3`` driver on core 0 (a fresh connection, like a reader of the app's
   pool): the median of ``--repeat`` runs after a warm-up.
4. ``page_ms``: the real server (``uvicorn shangliao.app:create_app``, core 0) answering ``wrk``
   with one connection (core 1), so requests follow one another: the median latency of a
   ``--seconds`` run after a warm-up run. Any non-2xx answer fails the bench.
5. ``floor_ms``: the same statements served by a bare FastAPI app (``list_floor_app.py``: the
   bare driver in one worker-thread trip, the rows as JSON, nothing else) on the same core, the
   same way: what the socket, the framework, the thread trip and the SQL cost before any work.
6. ``counts_ms``: the same for ``GET /api/v1/orders/counts`` (the tab counts) at a million.

The last line prints ``growth_ratio=`` (page_ms at a million / at ten thousand, target <= 2),
``overhead_ratio=`` (page_ms / sql_ms at a million, target <= 2) and, to read it by,
``floor_ratio=`` (floor_ms / sql_ms: the best overhead_ratio any Python endpoint on this stack could
show). docs/benchmarks.md records results.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import event, func, select

from harness import LOAD_CORE, BenchFailure, check_quiet, parse_wrk, require_tools, serve, server_env
from shangliao.auth import service as auth
from shangliao.auth.actor import Actor
from shangliao.auth.models import Staff
from shangliao.auth.permissions import permissions_for
from shangliao.config import Settings
from shangliao.orders.models import OrderStatusCount
from shangliao.runtime import Runtime
from shangliao.shops.models import Shop

LIST_URL = "/api/v1/orders"
COUNTS_URL = "/api/v1/orders/counts"
QUERY = {"status": "completed", "amount_min": "10000", "q": "王"}
SHANGLIAO = Path(sys.executable).with_name("shangliao")
BENCH_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Request:
    token: str
    slug: str
    orders: int
    statements: list[tuple[str, object]]  # (sql, driver parameters) of one request


def build(folder: Path, orders: int) -> float:
    """``shangliao init`` + ``shangliao seed --orders N`` in ``folder``; returns the seed's seconds."""
    env = server_env({})
    base = [str(SHANGLIAO), "--data-dir", str(folder)]
    subprocess.run([*base, "init"], env=env, check=True, capture_output=True)
    started = time.perf_counter()
    done = subprocess.run([*base, "seed", "--orders", str(orders)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchFailure(f"seeding {folder} failed:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - started


def _biggest_bulk_shop(rt: Runtime) -> tuple[int, str, int]:
    with rt.db.read() as session:
        row = session.execute(
            select(Shop.id, Shop.slug, func.sum(OrderStatusCount.n))
            .join(OrderStatusCount, OrderStatusCount.shop_id == Shop.id)
            .where(Shop.slug.like("bulk-%"))
            .group_by(Shop.id, Shop.slug)
            .order_by(func.sum(OrderStatusCount.n).desc())
            .limit(1)
        ).first()
    if row is None:
        raise BenchFailure("no shop made by `shangliao seed` in this data folder")
    return row[0], row[1], int(row[2])


def prepare(folder: Path, url: str) -> Request:
    """A token for the seeded shop's owner, and every statement one list request sends."""
    from shangliao.app import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TestClient's httpx deprecation notice
        from fastapi.testclient import TestClient

    rt = Runtime.build(Settings(data_dir=folder, database_url=None, secret_key=None, log_sql=False))
    try:
        shop_id, slug, orders = _biggest_bulk_shop(rt)
        with rt.db.write() as session:
            owner = session.scalar(select(Staff).where(Staff.shop_id == shop_id).order_by(Staff.id).limit(1))
            actor = Actor(
                shop_id, owner.id, "owner", permissions_for("owner"), "token", timezone="Asia/Shanghai"
            )
            token, _ = auth.do_create_token(session, actor, name="bench order list", scopes=None, days=1)
        sent: list[tuple[str, object]] = []

        def record(_conn, _cursor, sql, params, _context, _many):
            sent.append((sql, params))

        client = TestClient(create_app(runtime=rt), headers={"Authorization": f"Bearer {token}"})
        for engine in {rt.db.reader, rt.db.writer}:
            event.listen(engine, "before_cursor_execute", record)
        try:
            for _ in range(2):  # the second request: caches warm, as in the measured runs
                sent.clear()
                r = client.get(url)
                if r.status_code != 200:
                    raise BenchFailure(f"{folder.name}: the list answered {r.status_code} {r.text}")
        finally:
            for engine in {rt.db.reader, rt.db.writer}:
                event.remove(engine, "before_cursor_execute", record)
        body = r.json()
        if len(body["items"]) != 20 or body["next_cursor"] is None:
            raise BenchFailure(
                f"{folder.name}: the first page holds {len(body['items'])} orders, not a full page"
            )
        return Request(token, slug, orders, list(sent))
    finally:
        rt.close()


@contextmanager
def pinned(core: int):
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def sql_ms(db_path: Path, statements: list[tuple[str, object]], repeat: int) -> float:
    """The median time of the request's statements through the bare driver, pinned to core 0."""
    conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA foreign_keys=ON")
    began = any(sql.strip().upper().startswith("BEGIN") for sql, _ in statements)

    def once() -> None:
        for sql, params in statements:
            conn.execute(sql, params).fetchall()
        if began:
            conn.execute("ROLLBACK")

    times = []
    with pinned(0):
        for _ in range(max(20, repeat // 10)):
            once()
        for _ in range(repeat):
            started = time.perf_counter()
            once()
            times.append(time.perf_counter() - started)
    conn.close()
    return statistics.median(times) * 1000


_P50 = re.compile(r"^\s*50%\s+([\d.]+)(us|ms|s)\s*$", re.M)


def wrk_get_p50(url: str, token: str, *, seconds: int, label: str) -> tuple[float, int]:
    """Median latency (ms) and request count of one connection GETting ``url`` for ``seconds``."""
    cmd = [
        "taskset", "-c", LOAD_CORE, "wrk", "-t1", "-c1", f"-d{seconds}s", "--timeout", "10s",
        "--latency", "-H", f"Authorization: Bearer {token}", url,
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise BenchFailure(f"wrk ({label}) exited with {done.returncode}:\n{done.stdout}{done.stderr}")
    result = parse_wrk(done.stdout)
    if result.requests == 0 or result.non_2xx or result.socket_errors:
        raise BenchFailure(f"{label}: {result.requests} requests, {result.non_2xx} non-2xx:\n{done.stdout}")
    m = _P50.search(done.stdout)
    if m is None:
        raise BenchFailure(f"{label}: no median latency in wrk's output:\n{done.stdout}")
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], result.requests


def save_statements(request: Request, path: Path) -> None:
    """The recorded statements as JSON for ``list_floor_app.py`` (bytes parameters as base64)."""

    def encode(value):
        return {"b64": base64.b64encode(value).decode()} if isinstance(value, (bytes, memoryview)) else value

    path.write_text(json.dumps([[sql, [encode(v) for v in params]] for sql, params in request.statements]))


def floor_ms(folder: Path, request: Request, args) -> float:
    statements = folder / "bench-floor-statements.json"
    save_statements(request, statements)
    env = server_env({"FLOOR_STATEMENTS": str(statements), "FLOOR_DB": str(folder / "shangliao.db")})
    log = folder / "bench-floor.log"
    with serve("list_floor_app:create_app", env=env, log_path=log, app_dir=BENCH_DIR) as server:
        wrk_get_p50(server.url + "/floor", request.token, seconds=args.warmup, label="floor warm-up")
        value, _ = wrk_get_p50(server.url + "/floor", request.token, seconds=args.seconds, label="floor")
    return value


def serve_and_measure(folder: Path, request: Request, url: str, args, *, counts: bool) -> dict[str, float]:
    env = server_env({"SHANGLIAO_DATA_DIR": str(folder)})
    out = {}
    with serve("shangliao.app:create_app", env=env, log_path=folder / "bench-server.log") as server:
        wrk_get_p50(server.url + url, request.token, seconds=args.warmup, label=f"{folder.name} warm-up")
        out["page_ms"], n = wrk_get_p50(
            server.url + url, request.token, seconds=args.seconds, label=f"{folder.name} list"
        )
        if args.verbose:
            print(f"# {folder.name}: {n} list requests in {args.seconds} s")
        if counts:
            wrk_get_p50(server.url + COUNTS_URL, request.token, seconds=args.warmup, label="counts warm-up")
            out["counts_ms"], _ = wrk_get_p50(
                server.url + COUNTS_URL, request.token, seconds=args.warmup, label="counts"
            )
    return out


def run(args: argparse.Namespace) -> None:
    require_tools()
    busy = check_quiet()
    if busy:
        print(f"# warning: before the run, {busy}")
    temporary = args.data is None
    data = Path(tempfile.mkdtemp(prefix="shangliao-list-", dir=args.dir)) if temporary else Path(args.data)
    url = f"{LIST_URL}?{urlencode(QUERY | ({'q': args.q} if args.q else {}))}"
    print(f"# {date.today().isoformat()} data in {data}; GET {url}; server on core 0, wrk on core 1")
    try:
        sizes = {"small": args.small, "large": args.large}
        for name, orders in sizes.items():
            folder = data / name
            if not (folder / "shangliao.db").exists():
                seconds = build(folder, orders)
                print(f"seed_{name}_seconds={seconds:.1f}")
                print(f"seed_{name}_orders_per_s={orders / seconds:.0f}")
        figures: dict[str, dict[str, float]] = {}
        for name in sizes:
            folder = data / name
            request = prepare(folder, url)
            if args.verbose:
                print(f"# {name}: shop {request.slug}, {request.orders} orders; the request sends:")
                for i, (sql, _) in enumerate(request.statements, 1):
                    print(f"#  {i:2d}. {' '.join(sql.split())[:160]}")
            figures[name] = {"sql_ms": sql_ms(folder / "shangliao.db", request.statements, args.repeat)}
            figures[name] |= serve_and_measure(folder, request, url, args, counts=name == "large")
            if name == "large":
                figures[name]["floor_ms"] = floor_ms(folder, request, args)
            for key, value in figures[name].items():
                print(f"{key}_{name}={value:.3f}")
        small, large = figures["small"], figures["large"]
        print(
            f"growth_ratio={large['page_ms'] / small['page_ms']:.2f} "
            f"overhead_ratio={large['page_ms'] / large['sql_ms']:.2f} "
            f"floor_ratio={large['floor_ms'] / large['sql_ms']:.2f}"
        )
    finally:
        if temporary and not args.keep:
            shutil.rmtree(data, ignore_errors=True)
        elif temporary:
            print(f"# kept {data}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="folder holding (or to hold) the two seeded data folders, reused")
    parser.add_argument("--large", type=int, default=1_000_000, help="orders in the large shop")
    parser.add_argument("--small", type=int, default=10_000, help="orders in the small shop")
    parser.add_argument("--q", help="the search text (default 王)")
    parser.add_argument(
        "--seconds", type=int, default=10, help="length of each measured wrk run (default 10)"
    )
    parser.add_argument("--warmup", type=int, default=3, help="length of each warm-up run (default 3)")
    parser.add_argument("--repeat", type=int, default=500, help="runs of the bare SQL (default 500)")
    parser.add_argument("--dir", help="where a temporary data folder goes (without --data)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    parser.add_argument("--verbose", "-v", action="store_true", help="print the statements of the request")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
