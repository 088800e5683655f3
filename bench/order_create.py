"""Order-create throughput over HTTP against its floor, measured in one run (issue 2, "Proof").

    .venv/bin/python bench/order_create.py [--verbose]

What it does, in order (about a minute on the 2-core bench machine):

1. Seeds a fresh SQLite data folder (Alembic upgrade to head): a shop, its owner, an API token and
   three products with plenty of stock. The order body has three lines and an inline address.
2. Captures, in-process, every statement one order-create request sends to SQLite (SQLAlchemy
   ``before_cursor_execute`` on the writer and reader engines, plus what sqlite3's trace callback
   sees outside those: COMMIT, the dialect's PRAGMAs): that count is ``statements_per_order``
   (an ``executemany`` counts once).
3. ``raw_rps``: the same SQL transaction through the bare sqlite3 driver, one thread on core 0, on a
   copy of the seeded database with ``synchronous=FULL`` (``raw_order.py``).
4. ``echo_rps``: a bare FastAPI app validating and echoing the same JSON (``echo_app.py``).
5. ``orders_rps`` / ``orders_rps_normal``: the real server (``shangliao.app:create_app``) with
   ``SHANGLIAO_SQLITE_SYNCHRONOUS=FULL`` / ``NORMAL``, each on its own copy of the seeded data.

Servers run under uvicorn pinned to core 0, ``wrk`` pinned to core 1 (``harness.py``); each load
run is preceded by a warm-up run, and any non-2xx answer fails the bench. The floor is what a
request would cost if Shangliao added nothing to FastAPI and the SQL: ``1 / (1/echo + 1/raw)``.
The last line prints ``ratio=`` (target >= 0.5), ``statements_per_order=`` (target <= 12) and
``full_over_normal=`` (target >= 0.8). ``docs/benchmarks.md`` records results.

``--flood`` measures something else (issue 10): order-create latency while two clients flood the
server with what must never reach the writer. One server (FULL) on the seeded data; order-create
p50 under ``--connections`` wrk connections, alone, then while one wrk connection posts orders with
a new made-up token each time (``flood_junk_order.lua``) and another signs in with a new random
username each time (``flood_login.lua``), as fast as they can, then alone again.
``flood_p50_ratio=`` is the flooded p50 over the mean of the two lone ones (target <= 1.5).
``--flood-connections N`` gives each flooding client N connections instead of one.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import event

from bench_shop import shop_with_owner
from harness import (
    LOAD_CORE,
    POST_JSON_LUA,
    BenchFailure,
    Server,
    cpu_seconds,
    folder_options,
    parse_wrk,
    require_tools,
    serve,
    server_env,
    warn_if_busy,
    wrk_post,
)
from raw_order import RawOrder, copy_database, orders_per_second, statements
from shangliao.auth import service as auth
from shangliao.catalog.schemas import ProductIn
from shangliao.catalog.service import do_create_product
from shangliao.config import Settings
from shangliao.core import clock
from shangliao.customers.pii import Address, encrypt_address, phone_hashes
from shangliao.orders.numbers import order_day
from shangliao.runtime import Runtime
from shangliao.storage import migrate

BENCH_DIR = Path(__file__).resolve().parent
ORDERS_URL = "/api/v1/orders"
STOCK = 10_000_000  # the most a variant may hold; far more than any run sells
ADDRESS = {
    "receiver": "张三",
    "phone": "13812345678",
    "province": "浙江省",
    "city": "杭州市",
    "district": "西湖区",
    "detail": "文三路100号",
}
PRODUCTS = [("纯棉T恤", "红色", 9900), ("帆布包", "米白", 5900), ("棒球帽", "藏青", 4900)]


@dataclass(frozen=True)
class Seeded:
    token: str
    body: str  # the JSON every request posts
    raw: RawOrder


@dataclass(frozen=True)
class Sent:
    engine: str  # "writer" | "reader"
    sql: str
    many: bool


def seed(data_dir: Path) -> tuple[Seeded, list[Sent]]:
    """A migrated data folder with one shop ready to take orders, and what one order sends."""
    settings = Settings(data_dir=data_dir, database_url=None, secret_key=None, log_sql=False)
    rt = Runtime.build(settings)
    try:
        migrate.upgrade(settings.resolved_database_url)
        with rt.db.write() as session:
            shop, actor, token = shop_with_owner(session, "bench-shop", "压测小店", "bench")
            variant_ids = []
            for i, (name, colour, price) in enumerate(PRODUCTS):
                product = do_create_product(session, actor, ProductIn(
                    name=name, options=["颜色"],
                    variants=[{"sku": f"BENCH-{i}", "spec": {"颜色": colour}, "price": price, "on_hand": STOCK}],
                ))  # fmt: skip
                variant_ids.append(product.variants[0].id)
        body = json.dumps(
            {"items": [{"variant_id": v, "quantity": 1} for v in variant_ids], "address": ADDRESS},
            ensure_ascii=False,
        )
        address = Address(**ADDRESS)
        full_hash, last4_hash = phone_hashes(rt.keyring, address.phone)
        raw = RawOrder(
            token_hash=auth.digest(token), shop_id=shop.id, staff_id=actor.staff_id, variant_ids=variant_ids,
            order_day=order_day(clock.now(), shop.timezone), customer_name=address.receiver,
            address_enc=encrypt_address(rt.keyring, address), phone_hash=full_hash, phone_last4_hash=last4_hash,
        )  # fmt: skip
        sent = capture(rt, token, body)
    finally:
        rt.close()
    return Seeded(token, body, raw), sent


class _Recorder:
    """What one request sends to SQLite, each statement once.

    SQLAlchemy's ``before_cursor_execute`` announces each statement once (an ``executemany`` too).
    sqlite3's trace callback sees everything SQLite runs, including what no cursor execute
    announces: pysqlite's COMMIT and the dialect's own housekeeping (resetting the isolation level
    when a connection goes back to the pool). A traced statement counts only when it runs outside
    an announced one, so nothing is counted twice and nothing is missed.
    """

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self._inside = False
        self._traced: list = []

    def listeners(self, name: str, engine) -> list[tuple]:
        def on_checkout(dbapi_conn, _record, _proxy):
            dbapi_conn.set_trace_callback(lambda sql: self._on_trace(name, sql))
            self._traced.append(dbapi_conn)

        def before(_conn, _cursor, sql, _params, _context, many):
            self.sent.append(Sent(name, sql, many))
            self._inside = True

        def after(_conn, _cursor, _sql, _params, _context, _many):
            self._inside = False

        return [(engine, "checkout", on_checkout), (engine, "before_cursor_execute", before),
                (engine, "after_cursor_execute", after)]  # fmt: skip

    def _on_trace(self, name: str, sql: str) -> None:
        if not self._inside:
            self.sent.append(Sent(name, sql, False))

    def detach(self) -> None:
        for dbapi_conn in self._traced:
            dbapi_conn.set_trace_callback(None)


def capture(rt: Runtime, token: str, body: str) -> list[Sent]:
    """Every statement of one order-create request, in-process (the second request: caches warm)."""
    from shangliao.app import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TestClient's httpx deprecation notice
        from fastapi.testclient import TestClient

    recorder = _Recorder()
    listeners = recorder.listeners("writer", rt.db.writer) + recorder.listeners("reader", rt.db.reader)
    for listener in listeners:
        event.listen(*listener)
    try:
        client = TestClient(create_app(runtime=rt), headers={"Authorization": f"Bearer {token}"})
        headers = {"Content-Type": "application/json"}
        for _ in range(2):
            recorder.sent.clear()
            r = client.post(ORDERS_URL, content=body.encode(), headers=headers)
            if r.status_code != 201:
                raise BenchFailure(f"the bench order was refused in-process: {r.status_code} {r.text}")
    finally:
        for listener in listeners:
            event.remove(*listener)
        recorder.detach()
    return list(recorder.sent)


_TABLE = re.compile(r"^\s*(SELECT\b.*?\bFROM|INSERT INTO|UPDATE|DELETE FROM)\s+(\w+)", re.I | re.S)


def shape(sql: str) -> str:
    """``INSERT order_items``, ``SELECT variants``, ``BEGIN IMMEDIATE``…: a statement at a glance."""
    m = _TABLE.match(sql)
    if m is None:
        return " ".join(sql.split())
    return f"{m.group(1).split()[0].upper()} {m.group(2)}"


def print_statements(title: str, rows: list[tuple[str, str, bool]]) -> None:
    print(f"# {title}: {len(rows)} statements")
    for i, (where, sql, many) in enumerate(rows, 1):
        print(f"#  {i:2d}. [{where}{', executemany' if many else ''}] {' '.join(sql.split())}")


@contextmanager
def pinned(core: int):
    """Run the raw loop on the server's core, as a server would be."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def filesystem_of(path: Path) -> str:
    best, kind = "", "?"
    for line in Path("/proc/mounts").read_text().splitlines():
        _dev, mount, fstype, *_ = line.split()
        if str(path.resolve()).startswith(mount) and len(mount) > len(best):
            best, kind = mount, fstype
    return kind


def measure_http(
    label: str, server: Server, seeded: Seeded, args: argparse.Namespace, *, token: bool
) -> float:
    """Requests per second after a warm-up run; with --verbose, also the server's CPU per request."""
    url = server.url + ORDERS_URL
    common = {
        "token": seeded.token if token else None,
        "connections": args.connections,
        "threads": args.threads,
    }
    wrk_post(url, seeded.body, seconds=args.warmup, label=f"{label} warm-up", **common)
    user, system = cpu_seconds(server.pid)
    result = wrk_post(url, seeded.body, seconds=args.seconds, label=label, **common)
    if args.verbose:
        user_after, system_after = cpu_seconds(server.pid)
        user, system = (user_after - user) / result.requests, (system_after - system) / result.requests
        print(
            f"# {label}: {result.requests} requests; server CPU {(user + system) * 1000:.2f} ms/request "
            f"(user {user * 1000:.2f}, system {system * 1000:.2f}; {(user + system) * result.rps:.0%} of its core); "
            f"latency {result.latency}"
        )
    return result.rps


def run(args: argparse.Namespace) -> None:
    require_tools()
    workdir = Path(tempfile.mkdtemp(prefix="shangliao-bench-", dir=args.dir))
    try:
        fstype = filesystem_of(workdir)
        print(f"# {date.today().isoformat()} data in {workdir} ({fstype}); server on core 0, wrk on core 1")
        warn_if_busy()
        if fstype == "tmpfs":
            print("# warning: tmpfs makes fsync free, so FULL and NORMAL cannot differ here; use --dir")
        seeded, sent = seed(workdir / "seed")
        if args.flood:
            shutil.copytree(workdir / "seed", workdir / "full")
            flood(args, workdir, seeded)
            return
        for mode in ("full", "normal"):
            shutil.copytree(workdir / "seed", workdir / mode)

        product = [(s.engine, s.sql, s.many) for s in sent]
        raw_sent = [("sqlite3", sql, many) for sql, many in statements(len(seeded.raw.variant_ids))]
        if args.verbose:
            print_statements("order-create request (Shangliao)", product)
            print_statements("raw transaction (sqlite3)", raw_sent)
        ours, theirs = Counter(shape(s) for _, s, _ in product), Counter(shape(s) for _, s, _ in raw_sent)
        if ours != theirs:
            more = ", ".join(f"{k} x{n}" for k, n in (ours - theirs).items()) or "-"
            fewer = ", ".join(f"{k} x{n}" for k, n in (theirs - ours).items()) or "-"
            print(f"# the request sends beyond the raw transaction: {more}; short of it: {fewer}")

        raw_db = workdir / "raw.db"
        copy_database(workdir / "seed" / "shangliao.db", raw_db)
        with pinned(0):
            raw = orders_per_second(raw_db, seeded.raw, seconds=args.raw_seconds)
        raw_rps = raw.rps
        if args.verbose:
            print(
                f"# raw: CPU {raw.user_ms + raw.system_ms:.2f} ms/order (user {raw.user_ms:.2f}, system {raw.system_ms:.2f})"
            )
        print(f"raw_rps={raw_rps:.1f}")

        with serve("echo_app:create_app", app_dir=BENCH_DIR, env=server_env({}),
                   log_path=workdir / "echo.log") as server:  # fmt: skip
            echo_rps = measure_http("echo", server, seeded, args, token=False)
        print(f"echo_rps={echo_rps:.1f}")

        rps = {}
        for mode in ("FULL", "NORMAL"):
            env = server_env({
                "SHANGLIAO_DATA_DIR": str(workdir / mode.lower()), "SHANGLIAO_SQLITE_SYNCHRONOUS": mode,
            })  # fmt: skip
            with serve(
                "shangliao.app:serving_app", env=env, log_path=workdir / f"orders-{mode}.log"
            ) as server:
                rps[mode] = measure_http(f"orders {mode}", server, seeded, args, token=True)
        print(f"orders_rps={rps['FULL']:.1f}")
        print(f"orders_rps_normal={rps['NORMAL']:.1f}")

        floor = 1 / (1 / echo_rps + 1 / raw_rps)
        print(f"floor_rps={floor:.1f}")
        print(
            f"ratio={rps['FULL'] / floor:.3f} statements_per_order={len(sent)} "
            f"full_over_normal={rps['FULL'] / rps['NORMAL']:.3f}"
        )
    finally:
        if args.keep:
            print(f"# kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


_P50 = re.compile(r"^\s*50%\s+([\d.]+)(us|ms|s)\b", re.M)
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk(url: str, script: Path, *, seconds: int, connections: int) -> list[str]:
    """A bounded wrk command on the load core, printing its latency distribution."""
    return [
        "taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
        "--latency", "-s", str(script), url,
    ]  # fmt: skip


def _p50_ms(output: str) -> float:
    found = _P50.search(output)
    if found is None:
        raise BenchFailure(f"no p50 in wrk's output:\n{output}")
    return float(found.group(1)) * _UNIT_MS[found.group(2)]


def measure_p50(label: str, server: Server, seeded: Seeded, args: argparse.Namespace) -> float:
    """Order-create p50 (ms) over ``args.seconds``; every answer must be a 201."""
    env = {**os.environ, "BENCH_BODY": seeded.body, "BENCH_TOKEN": seeded.token}
    cmd = _wrk(server.url + ORDERS_URL, POST_JSON_LUA, seconds=args.seconds, connections=args.connections)
    done = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=args.seconds + 60, check=False
    )
    result = parse_wrk(done.stdout)
    if done.returncode != 0 or result.non_2xx or result.socket_errors:
        raise BenchFailure(f"{label}: wrk failed or got errors:\n{done.stdout}{done.stderr}")
    p50 = _p50_ms(done.stdout)
    print(f"# {label}: {result.rps:.1f} orders/s, p50 {p50:.2f} ms, {result.latency}")
    return p50


def flood(args: argparse.Namespace, workdir: Path, seeded: Seeded) -> None:
    env = server_env({"SHANGLIAO_DATA_DIR": str(workdir / "full"), "SHANGLIAO_SQLITE_SYNCHRONOUS": "FULL"})
    with serve("shangliao.app:serving_app", env=env, log_path=workdir / "orders-flood.log") as server:
        wrk_post(server.url + ORDERS_URL, seeded.body, token=seeded.token, seconds=args.warmup,
                 connections=args.connections, label="warm-up")  # fmt: skip
        before = measure_p50("alone", server, seeded, args)
        # The flood starts a second early and ends a second late: the measured run sees it throughout.
        flood_env = {**os.environ, "BENCH_BODY": seeded.body}
        floods = {
            name: subprocess.Popen(
                _wrk(server.url + path, BENCH_DIR / script, seconds=args.seconds + 2,
                     connections=args.flood_connections),
                env=flood_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )
            for name, path, script in (
                ("junk_order", ORDERS_URL, "flood_junk_order.lua"),
                ("login", "/api/v1/auth/login", "flood_login.lua"),
            )
        }  # fmt: skip
        try:
            time.sleep(1)
            during = measure_p50("flooded", server, seeded, args)
            outputs = {name: proc.communicate(timeout=args.seconds + 60)[0] for name, proc in floods.items()}
        finally:
            for proc in floods.values():
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        after = measure_p50("alone again", server, seeded, args)
    for name, output in outputs.items():
        result = parse_wrk(output)
        print(f"flood_{name}_rps={result.rps:.1f}")
        print(f"# flood {name}: {result.requests} requests, {result.non_2xx} refused, {result.latency}")
        if result.non_2xx != result.requests:
            print(f"# warning: {result.requests - result.non_2xx} flood {name} requests were not refused")
    alone = (before + after) / 2
    print(f"alone_p50_ms={alone:.2f} flooded_p50_ms={during:.2f}")
    print(f"flood_p50_ratio={during / alone:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=int, default=10, help="length of each measured wrk run (default 10)"
    )
    parser.add_argument(
        "--warmup", type=int, default=3, help="length of the warm-up run before each (default 3)"
    )
    parser.add_argument(
        "--raw-seconds", type=float, default=5.0, help="length of the raw sqlite3 loop (default 5)"
    )
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument(
        "--flood",
        action="store_true",
        help="order-create p50 with and without a junk-token and sign-in flood",
    )
    parser.add_argument(
        "--flood-connections", type=int, default=1,
        help="connections of each flooding client (default 1: two clients, as issue 10 names)",
    )  # fmt: skip
    folder_options(
        parser,
        dir_help="where the temporary data folders go (default: the system temp dir)",
        keep_help="keep the data folders and server logs",
        verbose_help="print the statements and latencies",
    )
    run(parser.parse_args())


if __name__ == "__main__":
    main()
