"""Verified payment notifications per second over HTTP against their floor, in one run (issue 13).

    .venv/bin/python bench/payments.py [--verbose] [--seconds 8] [--notices 4000]

What it does, in order (a couple of minutes on the 2-core bench machine):

1. Seeds a fresh SQLite data folder: a shop with WeChat Pay configured (a platform key made here),
   ``--notices`` + a warm-up's worth of pending orders, each with a payment attempt for its total.
2. Signs one WeChat Pay v3 notification per attempt, as WeChat does (the resource sealed with the
   APIv3 key, the body signed by the platform key), each with its own transaction id.
3. ``bare_rps``: a bare script doing the same checks (signature, clock, decryption, merchant ids)
   and the paid-status update (attempt paid, order's paid amount) through the sqlite3 driver, one
   thread on core 0, ``synchronous=FULL``, on a copy of the seeded database.
4. ``echo_rps``: a bare FastAPI app reading the same bodies and answering ``{"code":"SUCCESS"}``
   (``notify_echo_app.py``).
5. ``notify_rps``: the real server (``shangliao.app:serving_app``, FULL) taking them through
   ``POST /api/v1/providers/{shop}/wechat``: a warm-up with its own notifications, then the run.
6. ``duplicates_applied``: 50 fresh notifications sent 5 times each at once (threads), then the
   database is asked how many provider payments share a transaction id (target 0).

Load comes from ``wrk`` with ``notify_rotate.lua`` (each request the next pre-signed notification)
on core 1, the server on core 0 (``harness.py``); any non-2xx answer fails the run. The floor is
``1 / (1/echo + 1/bare)``; the last line prints ``ratio=`` (target >= 0.5) and
``duplicates_applied=``. ``docs/benchmarks.md`` records results. Never run in CI.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bench_shop import connect, shop_with_owner
from harness import (
    LOAD_CORE,
    BenchFailure,
    Server,
    cpu_seconds,
    folder_options,
    parse_wrk,
    require_tools,
    serve,
    server_env,
    warn_if_busy,
)
from raw_order import copy_database
from shangliao.app import create_app
from shangliao.catalog.schemas import ProductIn
from shangliao.catalog.service import do_create_product
from shangliao.config import Settings
from shangliao.orders.models import Order
from shangliao.orders.payments import next_trade_no
from shangliao.payments.methods import seal_secrets
from shangliao.payments.models import PaymentAttempt, PaymentMethod
from shangliao.runtime import Runtime
from shangliao.storage import migrate

BENCH_DIR = Path(__file__).resolve().parent
ROTATE_LUA = BENCH_DIR / "notify_rotate.lua"
SLUG = "bench-pay"
MCHID, APPID, SERIAL = "1900000109", "wx8888888888888888", "BENCHSERIAL0001"
APIV3_KEY = "0123456789abcdef0123456789abcdef"
ADDRESS = {"receiver": "张三", "phone": "13812345678", "province": "浙江省", "city": "杭州市",
           "district": "西湖区", "detail": "文三路100号"}  # fmt: skip
URL = f"/api/v1/providers/{SLUG}/wechat"
DUPLICATE_SETS, COPIES = 50, 5


@dataclass(frozen=True)
class Attempt:
    out_trade_no: str
    amount: int


def seed(data_dir: Path, count: int, key: rsa.RSAPrivateKey) -> list[Attempt]:
    """A migrated data folder: the shop, WeChat Pay with ``key``'s public half, ``count`` orders
    with an open attempt each."""
    settings = Settings(data_dir=data_dir, database_url=None, secret_key=None, log_sql=False)
    rt = Runtime.build(settings)
    try:
        migrate.upgrade(settings.resolved_database_url)
        with rt.db.write() as session:
            shop, actor, token = shop_with_owner(session, SLUG, "压测收款小店", "bench")
            product = do_create_product(session, actor, ProductIn(
                name="纯棉T恤", options=["颜色"],
                variants=[{"sku": "PAY-1", "spec": {"颜色": "红色"}, "price": 9900, "on_hand": 10_000_000}],
            ))  # fmt: skip
            variant_id, shop_id = product.variants[0].id, shop.id
            public = key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            session.add(PaymentMethod(
                shop_id=shop.id, kind="wechat", enabled=True,
                settings={"mchid": MCHID, "appid": APPID,
                          "platform_keys": [{"serial": SERIAL, "public_key": public.decode()}]},
                secrets_enc=seal_secrets(rt.keyring, {"apiv3_key": APIV3_KEY}),
            ))  # fmt: skip
        from fastapi.testclient import TestClient

        client = TestClient(create_app(runtime=rt), headers={"Authorization": f"Bearer {token}"})
        body = {"items": [{"variant_id": variant_id, "quantity": 1}], "address": ADDRESS}
        order_ids = []
        for _ in range(count):
            r = client.post("/api/v1/orders", json=body)
            if r.status_code != 201:
                raise BenchFailure(f"seeding an order: {r.status_code} {r.text}")
            order_ids.append(r.json()["id"])
        attempts = []
        with rt.db.write() as session:
            for order in session.query(Order).filter(Order.id.in_(order_ids)).order_by(Order.id):
                row = PaymentAttempt(shop_id=shop_id, order_id=order.id, method="wechat",
                                     out_trade_no=next_trade_no(order), amount=order.total)  # fmt: skip
                session.add(row)
                attempts.append(Attempt(row.out_trade_no, row.amount))
        return attempts
    finally:
        rt.close()


def sign(key: rsa.RSAPrivateKey, attempt: Attempt, transaction_id: str) -> tuple[str, str, str, bytes]:
    """One notification as WeChat Pay sends it: ``(timestamp, nonce, signature, body)``."""
    resource = {"mchid": MCHID, "appid": APPID, "out_trade_no": attempt.out_trade_no,
                "transaction_id": transaction_id, "trade_type": "NATIVE", "trade_state": "SUCCESS",
                "success_time": "2026-12-07T12:00:00+08:00",
                "amount": {"total": attempt.amount, "payer_total": attempt.amount, "currency": "CNY",
                           "payer_currency": "CNY"}}  # fmt: skip
    nonce = os.urandom(6).hex()
    sealed = AESGCM(APIV3_KEY.encode()).encrypt(nonce.encode(), json.dumps(resource).encode(), b"transaction")
    body = json.dumps({
        "id": transaction_id, "create_time": "2026-12-07T12:00:00+08:00", "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
        "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
                     "ciphertext": base64.b64encode(sealed).decode(), "associated_data": "transaction",
                     "nonce": nonce},
    }, ensure_ascii=False).encode()  # fmt: skip
    stamp, header_nonce = str(int(time.time())), os.urandom(8).hex()
    message = f"{stamp}\n{header_nonce}\n".encode() + body + b"\n"
    signature = base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()
    return stamp, header_nonce, signature, body


def write_notices(path: Path, notices: list[tuple[str, str, str, bytes]]) -> None:
    with path.open("w") as f:
        for stamp, nonce, signature, body in notices:
            f.write(f"{stamp}\t{nonce}\t{signature}\t{SERIAL}\t{body.decode()}\n")


def bare_rps(db: Path, key: rsa.RSAPublicKey, notices: list[tuple[str, str, str, bytes]]) -> float:
    """The same checks and the paid-status update through sqlite3, one thread, as fast as it goes."""
    conn = connect(db)
    started = time.perf_counter()
    for stamp, nonce, signature, body in notices:
        key.verify(base64.b64decode(signature), f"{stamp}\n{nonce}\n".encode() + body + b"\n",
                   padding.PKCS1v15(), hashes.SHA256())  # fmt: skip
        if abs(time.time() - int(stamp)) > 300:
            raise BenchFailure("a bare notification went stale")
        resource = json.loads(body)["resource"]
        plain = json.loads(AESGCM(APIV3_KEY.encode()).decrypt(
            resource["nonce"].encode(), base64.b64decode(resource["ciphertext"]),
            resource["associated_data"].encode(),
        ))  # fmt: skip
        if plain["mchid"] != MCHID or plain["appid"] != APPID:
            raise BenchFailure("bare: merchant mismatch")
        now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
        conn.execute("BEGIN IMMEDIATE")
        attempt_id, order_id, amount = conn.execute(
            "SELECT id, order_id, amount FROM payment_attempts WHERE out_trade_no = ?",
            (plain["out_trade_no"],),
        ).fetchone()
        if amount != plain["amount"]["total"]:
            raise BenchFailure("bare: amount mismatch")
        conn.execute(
            "UPDATE payment_attempts SET status = 'paid', paid_at = ? WHERE id = ?", (now, attempt_id)
        )
        conn.execute(
            "UPDATE orders SET paid_amount = paid_amount + ?, paid_at = ? WHERE id = ?",
            (amount, now, order_id),
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return len(notices) / elapsed


def wrk_notices(url: str, notices: Path, *, seconds: int, connections: int, label: str):
    cmd = ["taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
           "-s", str(ROTATE_LUA), url]  # fmt: skip
    done = subprocess.run(cmd, env={**os.environ, "BENCH_NOTICES": str(notices)}, capture_output=True,
                          text=True, timeout=seconds + 60, check=False)  # fmt: skip
    if done.returncode != 0:
        raise BenchFailure(f"wrk ({label}) exited with {done.returncode}:\n{done.stdout}{done.stderr}")
    result = parse_wrk(done.stdout)
    if result.requests == 0 or result.non_2xx or result.socket_errors:
        raise BenchFailure(
            f"{label}: {result.non_2xx} non-2xx, {result.socket_errors} socket errors:\n{done.stdout}"
        )
    return result


def measure(label: str, server: Server, warm: Path, run: Path, args: argparse.Namespace) -> float:
    url = server.url + URL
    wrk_notices(url, warm, seconds=args.warmup, connections=args.connections, label=f"{label} warm-up")
    user, system = cpu_seconds(server.pid)
    result = wrk_notices(url, run, seconds=args.seconds, connections=args.connections, label=label)
    if args.verbose:
        u, s = cpu_seconds(server.pid)
        per = ((u - user) + (s - system)) / result.requests * 1000
        print(
            f"# {label}: {result.requests} requests; server CPU {per:.2f} ms/request; latency {result.latency}"
        )
    return result.rps


def send_copies_at_once(url: str, notices: list[tuple[str, str, str, bytes]]) -> list[int]:
    """Each notification ``COPIES`` times at once; the answers' statuses."""
    statuses: list[int] = []

    def post(stamp: str, nonce: str, signature: str, body: bytes, start: threading.Barrier) -> None:
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "Wechatpay-Timestamp": stamp, "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": signature, "Wechatpay-Serial": SERIAL})  # fmt: skip
        start.wait()
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                statuses.append(r.status)
        except urllib.error.HTTPError as e:
            statuses.append(e.code)

    for notice in notices:
        start = threading.Barrier(COPIES)
        threads = [threading.Thread(target=post, args=(*notice, start)) for _ in range(COPIES)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return statuses


def run(args: argparse.Namespace) -> None:
    require_tools()
    workdir = Path(tempfile.mkdtemp(prefix="shangliao-bench-pay-", dir=args.dir))
    try:
        print(f"# {datetime.now(UTC).date().isoformat()} data in {workdir}; server on core 0, wrk on core 1")
        warn_if_busy()
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        warm_count = max(args.notices // 4, 200)
        attempts = seed(workdir / "seed", warm_count + args.notices + DUPLICATE_SETS, key)
        shutil.copytree(workdir / "seed", workdir / "full")
        copy_database(workdir / "seed" / "shangliao.db", workdir / "bare.db")
        signed = [sign(key, a, f"4200{i:016d}") for i, a in enumerate(attempts)]
        warm, main, dupes = (signed[:warm_count], signed[warm_count:-DUPLICATE_SETS],
                             signed[-DUPLICATE_SETS:])  # fmt: skip
        write_notices(workdir / "warm.tsv", warm)
        write_notices(workdir / "run.tsv", main)

        os.sched_setaffinity(0, {0})
        try:
            bare = bare_rps(workdir / "bare.db", key.public_key(), main)
        finally:
            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
        print(f"bare_rps={bare:.1f}")

        with serve("notify_echo_app:create_app", app_dir=BENCH_DIR, env=server_env({}),
                   log_path=workdir / "echo.log") as server:  # fmt: skip
            echo = measure("echo", server, workdir / "warm.tsv", workdir / "run.tsv", args)
        print(f"echo_rps={echo:.1f}")

        env = server_env(
            {"SHANGLIAO_DATA_DIR": str(workdir / "full"), "SHANGLIAO_SQLITE_SYNCHRONOUS": "FULL"}
        )
        with serve(
            "shangliao.app:serving_app", env=env, log_path=workdir / "notify.log", start_timeout=120
        ) as server:
            rps = measure("notify", server, workdir / "warm.tsv", workdir / "run.tsv", args)
            statuses = send_copies_at_once(server.url + URL, dupes)
        print(f"notify_rps={rps:.1f}")
        if any(s != 200 for s in statuses):
            raise BenchFailure(f"a copy was not acknowledged: {sorted(set(statuses))}")

        with sqlite3.connect(workdir / "full" / "shangliao.db") as db:
            payments, distinct = db.execute(
                "SELECT COUNT(*), COUNT(DISTINCT transaction_id) FROM payments WHERE source = 'provider'"
            ).fetchone()
            overpaid = db.execute("SELECT COUNT(*) FROM orders WHERE paid_amount > total").fetchone()[0]
        print(
            f"# applied {payments} notifications ({len(main)} signed for the run; more requests are copies)"
        )
        if overpaid:
            raise BenchFailure(f"{overpaid} orders were paid more than their total")
        floor = 1 / (1 / echo + 1 / bare)
        print(f"floor_rps={floor:.1f}")
        print(f"ratio={rps / floor:.3f} duplicates_applied={payments - distinct}")
    finally:
        if args.keep:
            print(f"# kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=8, help="length of each measured run")
    parser.add_argument("--warmup", type=int, default=2, help="length of each warm-up run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--notices", type=int, default=4000, help="notifications signed for the measured run")
    folder_options(parser, dir_help="where the data folders go", keep_help="keep them",
                   verbose_help="print CPU per request and latency")  # fmt: skip
    args = parser.parse_args()
    if not 1 <= args.seconds <= 60 or not 1 <= args.warmup <= 30 or not 100 <= args.notices <= 50_000:
        parser.error("--seconds 1..60, --warmup 1..30, --notices 100..50000")
    run(args)


if __name__ == "__main__":
    main()
