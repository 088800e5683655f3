"""Two app processes on one PostgreSQL and one Redis: a message sent through one arrives on a socket
held by the other."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
import redis
from websockets.sync.client import connect

from shangliao.app import create_app
from shangliao.config import Settings
from shangliao.runtime import Runtime
from shangliao.storage import migrate
from tests.support.backends import postgres_database, unavailable
from tests.support.customers import make_customer
from tests.support.live import free_port
from tests.support.shops import make_shop

REDIS_URL = "redis://127.0.0.1:6379/0"
SECRET = "42" * 32


@pytest.fixture(scope="module")
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        unavailable("redis", str(exc))
    return REDIS_URL


@contextmanager
def app_process(database_url: str, redis_url: str, data_dir) -> Iterator[str]:
    """``uvicorn shangliao.app:create_app`` in a process of its own; yields its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHANGLIAO_")} | {
        "SHANGLIAO_DATABASE_URL": database_url,
        "SHANGLIAO_REDIS_URL": redis_url,
        "SHANGLIAO_SECRET_KEY": SECRET,
        "SHANGLIAO_DATA_DIR": str(data_dir),
    }
    command = [sys.executable, "-m", "uvicorn", "shangliao.app:create_app", "--factory", "--port", str(port)]
    proc = subprocess.Popen([*command, "--log-level", "warning"], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/healthz", timeout=1)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the app process did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def post(url: str, token: str, body: dict) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def test_a_message_sent_through_one_process_reaches_a_socket_on_the_other(redis_url, tmp_path):
    with postgres_database() as database_url, ExitStack() as stack:
        migrate.upgrade(database_url)
        settings = Settings(
            data_dir=tmp_path, database_url=database_url, redis_url=redis_url, secret_key=SECRET
        )
        rt = Runtime.build(settings)
        stack.callback(rt.close)
        shop = make_shop(rt, create_app(runtime=rt))
        customer_id, _ = make_customer(rt, shop)
        first = stack.enter_context(app_process(database_url, redis_url, tmp_path / "a"))
        second = stack.enter_context(app_process(database_url, redis_url, tmp_path / "b"))
        conversation = post(f"{first}/api/v1/customers/{customer_id}/conversation", shop.token, {})

        socket_url = second.replace("http://", "ws://") + "/api/v1/ws"
        with connect(socket_url, additional_headers={"Authorization": f"Bearer {shop.token}"}) as ws:
            sent = post(
                f"{first}/api/v1/conversations/{conversation['id']}/messages",
                shop.token,
                {"body": "跨进程的消息"},
            )
            deadline = time.monotonic() + 10
            heard = None
            while heard is None and time.monotonic() < deadline:
                frame = json.loads(ws.recv(timeout=10))
                if frame.get("event") == "message.created":
                    heard = frame

    assert heard is not None and heard["message"]["id"] == sent["id"]
    assert heard["message"]["body"] == "跨进程的消息"
