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
4. ``page_ms``: the real server (``uvicorn shangliao.app:create_app``, core 0, one per data
   folder) answering ``wrk`` with one connection (core 1), so requests follow one another: the
   median latency of a ``--seconds`` run. Any non-2xx answer fails the bench.
5. ``floor_ms``: the large request's statements served by a bare FastAPI app
   (``list_floor_app.py``: the bare driver in one worker-thread trip, the rows as JSON, nothing
   else) on the same core, the same way: what the socket, the framework, the thread trip and the
   SQL cost before any work of ours.
6. ``counts_ms``: the same for ``GET /api/v1/orders/counts`` (the tab counts) at a million.

Every figure is measured once per round, ``--rounds`` rounds one after another, all servers up
throughout; each figure printed is the median of its rounds, each ratio the median of the rounds'
ratios (this machine's speed drifts; within a round it moves every figure alike).

The last line prints ``growth_ratio=`` (page_ms at a million / at ten thousand, target <= 2),
``overhead_ratio=`` (page_ms / sql_ms at a million, target <= 2) and, to read it by,
``floor_ratio=`` (floor_ms / sql_ms: the overhead_ratio of a Python endpoint on this stack that
does nothing but send the SQL) and ``page_over_floor=`` (page_ms / floor_ms: what our own work
adds to that). docs/benchmarks.md records results.
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
from collections.abc import Iterable
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import event, func, select

from harness import (
    LOAD_CORE,
    BenchFailure,
    folder_options,
    parse_wrk,
    require_tools,
    serve,
    server_env,
    warn_if_busy,
)
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


def record(folder: Path, url: str) -> tuple[Request, Any]:
    """A token for the seeded shop's owner, every statement one ``GET url`` sends (the second of
    two: caches warm, as in the measured runs), and that answer's JSON."""
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
            token, _ = auth.do_create_token(session, actor, name="bench", scopes=None, days=1)
        sent: list[tuple[str, object]] = []

        def listen(_conn, _cursor, sql, params, _context, _many):
            sent.append((sql, params))

        client = TestClient(create_app(runtime=rt), headers={"Authorization": f"Bearer {token}"})
        for engine in {rt.db.reader, rt.db.writer}:
            event.listen(engine, "before_cursor_execute", listen)
        try:
            for _ in range(2):
                sent.clear()
                r = client.get(url)
                if r.status_code != 200:
                    raise BenchFailure(f"{folder.name}: {url} answered {r.status_code} {r.text}")
        finally:
            for engine in {rt.db.reader, rt.db.writer}:
                event.remove(engine, "before_cursor_execute", listen)
        return Request(token, slug, orders, list(sent)), r.json()
    finally:
        rt.close()


def prepare(folder: Path, url: str) -> Request:
    """The list request of ``url``, recorded; both shops must fill the page."""
    request, body = record(folder, url)
    if len(body["items"]) != 20 or body["next_cursor"] is None:
        raise BenchFailure(
            f"{folder.name}: the first page holds {len(body['items'])} orders, not a full page"
        )
    return request


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


def wrk_get_p50(
    url: str, token: str, *, seconds: int, label: str, header: str | None = None
) -> tuple[float, int]:
    """Median latency (ms) and request count of one connection GETting ``url`` for ``seconds``,
    with ``token`` as a bearer (or ``header`` instead, e.g. a console session's cookie)."""
    cmd = [
        "taskset", "-c", LOAD_CORE, "wrk", "-t1", "-c1", f"-d{seconds}s", "--timeout", "10s",
        "--latency", "-H", header or f"Authorization: Bearer {token}", url,
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


def serve_shangliao_on_each(
    stack: ExitStack, data: Path, names: Iterable[str], log_name: str
) -> dict[str, str]:
    """Start Shangliao on each named data folder below ``data``, one after another (each stops with
    ``stack``), logging to ``log_name`` in its folder: each name's base URL."""
    return {
        name: stack.enter_context(
            serve(
                "shangliao.app:serving_app",
                env=server_env({"SHANGLIAO_DATA_DIR": str(data / name)}),
                log_path=data / name / log_name,
            )
        ).url
        for name in names
    }


@contextmanager
def servers(data: Path, requests: dict[str, Request]):
    """Shangliao on each data folder, and the floor app on the large one, all on core 0 at once."""
    large = data / "large"
    statements = large / "bench-floor-statements.json"
    save_statements(requests["large"], statements)
    floor_env = server_env({"FLOOR_STATEMENTS": str(statements), "FLOOR_DB": str(large / "shangliao.db")})
    with ExitStack() as stack:
        urls = serve_shangliao_on_each(stack, data, requests, "bench-server.log")
        urls["floor"] = stack.enter_context(
            serve(
                "list_floor_app:create_app",
                env=floor_env,
                log_path=large / "bench-floor.log",
                app_dir=BENCH_DIR,
            )
        ).url
        yield urls


def measure(data: Path, requests: dict[str, Request], url: str, args) -> dict[str, list[float]]:
    """Each figure once per round, the rounds one after another (A B C A B C …): a machine whose
    speed drifts during the run moves every figure of a round alike, so each round's ratios hold."""
    token = requests["large"].token
    targets = {"small": url, "large": url, "floor": "/floor"}
    figures: dict[str, list[float]] = {}
    with servers(data, requests) as urls:
        for name, path in targets.items():
            wrk_get_p50(urls[name] + path, token if name == "floor" else requests[name].token,
                        seconds=args.warmup, label=f"{name} warm-up")  # fmt: skip
        for _ in range(args.rounds):
            for name in ("small", "large"):
                figures.setdefault(f"sql_ms_{name}", []).append(
                    sql_ms(data / name / "shangliao.db", requests[name].statements, args.repeat)
                )
            for name, path in targets.items():
                ms, _ = wrk_get_p50(urls[name] + path, requests["large" if name == "floor" else name].token,
                                    seconds=args.seconds, label=name)  # fmt: skip
                figures.setdefault("floor_ms_large" if name == "floor" else f"page_ms_{name}", []).append(ms)
            counts, _ = wrk_get_p50(urls["large"] + COUNTS_URL, token, seconds=args.seconds, label="counts")
            figures.setdefault("counts_ms_large", []).append(counts)
    return figures


def run(args: argparse.Namespace) -> None:
    require_tools()
    warn_if_busy()
    temporary = args.data is None
    data = Path(tempfile.mkdtemp(prefix="shangliao-list-", dir=args.dir)) if temporary else Path(args.data)
    url = f"{LIST_URL}?{urlencode(QUERY | ({'q': args.q} if args.q else {}))}"
    print(f"# {date.today().isoformat()} data in {data}; GET {url}; servers on core 0, wrk on core 1")
    try:
        sizes = {"small": args.small, "large": args.large}
        for name, orders in sizes.items():
            folder = data / name
            if not (folder / "shangliao.db").exists():
                seconds = build(folder, orders)
                print(f"seed_{name}_seconds={seconds:.1f}")
                print(f"seed_{name}_orders_per_s={orders / seconds:.0f}")
        requests = {name: prepare(data / name, url) for name in sizes}
        if args.verbose:
            for name, request in requests.items():
                print(f"# {name}: shop {request.slug}, {request.orders} orders; the request sends:")
                for i, (sql, _) in enumerate(request.statements, 1):
                    print(f"#  {i:2d}. {' '.join(sql.split())[:160]}")
        figures = measure(data, requests, url, args)
        report(
            figures,
            {
                "growth_ratio": ("page_ms_large", "page_ms_small"),
                "overhead_ratio": ("page_ms_large", "sql_ms_large"),
                "floor_ratio": ("floor_ms_large", "sql_ms_large"),
                "page_over_floor": ("page_ms_large", "floor_ms_large"),
            },
            args,
        )
    finally:
        if temporary and not args.keep:
            shutil.rmtree(data, ignore_errors=True)
        elif temporary:
            print(f"# kept {data}", file=sys.stderr)


def report(figures: dict[str, list[float]], ratios: dict[str, tuple[str, str]], args) -> None:
    """Print each figure's median over the rounds, then each ratio (``key: (numerator,
    denominator)``) taken round by round, as its median on the last line."""
    for key, values in figures.items():
        print(f"{key}={statistics.median(values):.3f}")
    per_round = {
        key: [figures[a][i] / figures[b][i] for i in range(args.rounds)] for key, (a, b) in ratios.items()
    }
    if args.verbose:
        for key, values in per_round.items():
            print(f"# {key} per round: {' '.join(f'{v:.2f}' for v in values)}")
    print(" ".join(f"{key}={statistics.median(values):.2f}" for key, values in per_round.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="folder holding (or to hold) the two seeded data folders, reused")
    parser.add_argument("--large", type=int, default=1_000_000, help="orders in the large shop")
    parser.add_argument("--small", type=int, default=10_000, help="orders in the small shop")
    parser.add_argument("--q", help="the search text (default 王)")
    parser.add_argument("--seconds", type=int, default=3, help="length of each measured wrk run (default 3)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of every measurement (default 5)")
    parser.add_argument("--warmup", type=int, default=3, help="length of each warm-up run (default 3)")
    parser.add_argument("--repeat", type=int, default=300, help="runs of the bare SQL a round (default 300)")
    folder_options(
        parser,
        dir_help="where a temporary data folder goes (without --data)",
        keep_help="keep the temporary data folder",
        verbose_help="print the statements of the request",
    )
    run(parser.parse_args())


if __name__ == "__main__":
    main()
