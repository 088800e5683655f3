"""Fan-out across processes through Redis: an event committed in one runtime reaches another."""

from __future__ import annotations

import queue
import threading
import time
import uuid

import pytest
import redis

from shangliao.app import create_app
from shangliao.config import Settings
from shangliao.events.bus import RESYNC, RedisBus
from shangliao.runtime import Runtime
from shangliao.storage import migrate
from tests.support.backends import unavailable
from tests.support.catalog import make_product
from tests.support.orders import make_order
from tests.support.private_services import private_redis
from tests.support.shops import make_shop

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def redis_url():
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        unavailable("redis", str(exc))
    return REDIS_URL


def test_an_order_committed_in_one_process_reaches_a_listener_in_another(redis_url, tmp_path):
    url = f"sqlite:///{tmp_path / 'bus.db'}"
    migrate.upgrade(url)
    writer = Runtime.build(
        Settings(data_dir=tmp_path, database_url=url, redis_url=redis_url, secret_key="11" * 32)
    )
    listener = RedisBus(redis_url)  # stands for a second app process
    received: queue.Queue = queue.Queue()
    try:
        app = create_app(runtime=writer)
        shop = make_shop(writer, app)
        listener.subscribe(lambda row: received.put(row) if row["shop_id"] == shop.id else None)
        tee = make_product(writer, shop)
        order = make_order(shop, [(tee.variant_id, 1)])
        seen = []
        while not any(r["type"] == "order.created" for r in seen):
            seen.append(received.get(timeout=5))
        created = next(r for r in seen if r["type"] == "order.created")
        assert created["entity_id"] == order["id"] and isinstance(created["created_at"], str)
        assert [r["seq"] for r in seen] == sorted(r["seq"] for r in seen)
    finally:
        listener.close()
        writer.close()


def test_a_handler_failure_does_not_stop_delivery(redis_url):
    bus = RedisBus(redis_url)
    got: queue.Queue = queue.Queue()
    shop_id = int(uuid.uuid4().int % 10**9) + 10**9
    try:
        bus.subscribe(lambda row: 1 / 0)
        bus.subscribe(lambda row: got.put(row) if row["shop_id"] == shop_id else None)
        bus.publish_many(
            [{"shop_id": shop_id, "seq": 1, "type": "x"}, {"shop_id": shop_id, "seq": 2, "type": "y"}]
        )
        assert [got.get(timeout=5)["seq"], got.get(timeout=5)["seq"]] == [1, 2]
    finally:
        bus.close()


def test_publishing_never_waits_for_a_frozen_redis_and_a_resync_follows_its_return():
    with private_redis() as (server, url):
        publisher, listener = RedisBus(url), RedisBus(url)  # two processes' buses
        heard: queue.Queue = queue.Queue()
        try:
            listener.subscribe(heard.put)
            # Given Redis hangs
            server.freeze()
            # When a process publishes more rows than its queue holds
            rows = [{"shop_id": 1, "seq": n, "type": "x"} for n in range(1, 20_001)]
            done = threading.Event()
            threading.Thread(target=lambda: (publisher.publish_many(rows), done.set()), daemon=True).start()
            # Then the call returns while Redis is still frozen, and the overflow is counted
            assert done.wait(timeout=30) and server.frozen
            assert publisher.status()["dropped"] > 0

            # When Redis answers again
            server.thaw()
            # Then the other process is told to re-read the log (it cannot have heard everything)
            while (row := heard.get(timeout=30))["type"] != RESYNC["type"]:
                pass
            assert row == RESYNC
        finally:
            server.thaw()
            publisher.close()
            listener.close()


def test_a_listener_notices_a_redis_that_went_quiet_and_catches_up_when_it_answers():
    with private_redis() as (server, url):
        listener = RedisBus(url, ping_every=0.2)
        heard: queue.Queue = queue.Queue()
        try:
            listener.subscribe(heard.put)
            # Given Redis hangs while nothing is being published
            server.freeze()
            # Then the listener notices by itself (readiness says fan-out is degraded)
            deadline = time.monotonic() + 30
            while not listener.status()["degraded"]:
                assert time.monotonic() < deadline, "a frozen redis was never noticed"
                time.sleep(0.05)
            assert listener.status()["listening"] is False

            # When Redis answers again, the listener is back and its handlers are told to catch up
            server.thaw()
            assert heard.get(timeout=30) == RESYNC
            assert listener.status()["listening"] is True and listener.status()["degraded"] is False
        finally:
            server.thaw()
            listener.close()
