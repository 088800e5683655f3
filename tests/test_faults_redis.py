"""Redis stopped, frozen or restarted under a running app (each test on its own private Redis):
writes go on, sign-ins and sockets still answer, and live delivery heals by itself."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
from fastapi.testclient import TestClient
from websockets.sync.client import connect

from shangliao.app import create_app
from shangliao.config import Settings
from shangliao.runtime import Runtime
from shangliao.storage import migrate
from tests.support.catalog import make_product
from tests.support.live import serve
from tests.support.orders import make_order
from tests.support.private_services import private_redis
from tests.support.shops import OWNER_PASSWORD, make_shop

SECRET = "5e" * 32
# Only a bound on "did it finish at all": the code under test needs well under a second, the code
# before the fix never finished while Redis stayed frozen.
WORK_BOUND = 30


@pytest.fixture
def redis_server() -> Iterator:
    with private_redis() as (service, url):
        yield service, url


@contextmanager
def runtime_on(url: str, redis_url: str, folder) -> Iterator[Runtime]:
    rt = Runtime.build(Settings(data_dir=folder, database_url=url, redis_url=redis_url, secret_key=SECRET))
    try:
        yield rt
    finally:
        rt.close()


def sqlite_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'faults.db'}"
    migrate.upgrade(url)
    return url


def wait_for(condition, what: str, bound: float = WORK_BOUND):
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def next_order_event(ws, order_id: int) -> dict:
    while True:
        frame = json.loads(ws.recv(timeout=WORK_BOUND))
        if frame.get("event") == "order.created" and frame["order"]["order_id"] == order_id:
            return frame


def test_a_socket_on_another_process_hears_what_was_committed_while_redis_restarted(redis_server, tmp_path):
    redis, redis_url = redis_server
    url = sqlite_url(tmp_path)
    with ExitStack() as stack:
        # Given two app processes on one database and one Redis, a staff socket held by the second
        writer = stack.enter_context(runtime_on(url, redis_url, tmp_path / "a"))
        shop = make_shop(writer, create_app(runtime=writer))
        tee = make_product(writer, shop)
        listener = stack.enter_context(runtime_on(url, redis_url, tmp_path / "b"))
        base = stack.enter_context(serve(create_app(runtime=listener)))
        ws = stack.enter_context(
            connect(
                base.replace("http://", "ws://") + "/api/v1/ws",
                additional_headers={"Authorization": f"Bearer {shop.token}"},
            )
        )
        before = make_order(shop, [(tee.variant_id, 1)])
        next_order_event(ws, before["id"])  # delivery works across the processes

        # When Redis goes away, an order is placed meanwhile, and Redis comes back
        redis.stop()
        during = make_order(shop, [(tee.variant_id, 1)])
        redis.start()

        # Then the socket on the other process is shown that order, and what follows it
        assert next_order_event(ws, during["id"])["order"]["number"] == during["number"]
        after = make_order(shop, [(tee.variant_id, 1)])
        assert next_order_event(ws, after["id"])["order"]["order_id"] == after["id"]


def test_a_frozen_redis_holds_up_no_write_and_readiness_says_fanout_is_degraded(redis_server, tmp_path):
    redis, redis_url = redis_server
    with runtime_on(sqlite_url(tmp_path), redis_url, tmp_path / "a") as rt:
        app = create_app(runtime=rt)
        shop = make_shop(rt, app)
        tee = make_product(rt, shop, stock=100)
        anon = TestClient(app)

        # Given a Redis that hangs (it takes connections and never answers)
        redis.freeze()
        placed: list[dict] = []
        writes = threading.Thread(
            target=lambda: placed.extend(make_order(shop, [(tee.variant_id, 1)]) for _ in range(10))
        )
        # When ten orders are placed (each publishes its events after commit)
        writes.start()
        writes.join(timeout=WORK_BOUND)

        # Then all ten are placed while Redis is still frozen
        assert not writes.is_alive() and redis.frozen
        assert len({o["id"] for o in placed}) == 10
        # and readiness says live delivery is degraded, while the database is fine
        ready = wait_for(
            lambda: (r := anon.get("/readyz").json())["fanout"]["degraded"] and r, "fan-out degraded"
        )
        assert ready["status"] == "degraded" and ready["database"] == "ok"
        assert ready["fanout"]["publishing"] is False

        # When Redis answers again, readiness heals by itself
        redis.thaw()
        healed = wait_for(
            lambda: (r := anon.get("/readyz").json())["status"] == "ready" and r, "fan-out healed"
        )
        assert healed["fanout"]["publishing"] is True


def test_with_redis_down_sign_in_and_sockets_answer_and_limits_count_in_the_process(redis_server, tmp_path):
    redis, redis_url = redis_server
    with runtime_on(sqlite_url(tmp_path), redis_url, tmp_path / "a") as rt:
        app = create_app(runtime=rt)
        shop = make_shop(rt, app)
        anon = TestClient(app)
        # Given Redis is down
        redis.stop()

        # When the owner signs in, and opens a socket
        signed_in = anon.post(
            "/api/v1/auth/login", json={"username": shop.owner_username, "password": OWNER_PASSWORD}
        )
        limits = anon.get("/readyz").json()["rate_limits"]
        with (
            TestClient(app) as client,
            client.websocket_connect("/api/v1/ws", headers={"Authorization": f"Bearer {shop.token}"}) as ws,
        ):
            ws.send_text(json.dumps({"type": "ping"}))
            answer = ws.receive_json()

        # Then both work, and readiness says the limits are counted in this process for now
        assert signed_in.status_code == 200, signed_in.text
        assert answer["type"] == "pong"
        assert limits == {"kind": "redis", "degraded": True}
        # and repeated wrong passwords are still refused, counted in this process
        wrong = {"username": shop.owner_username, "password": "not the password"}
        answers = [anon.post("/api/v1/auth/login", json=wrong).status_code for _ in range(12)]
        assert 500 not in answers and answers[-1] == 429
        # and readiness says live delivery is degraded too
        ready = anon.get("/readyz").json()
        assert ready["status"] == "degraded" and ready["fanout"]["listening"] is False
