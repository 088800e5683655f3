"""Two app processes on one PostgreSQL and one Redis: a message sent through one arrives on a socket
held by the other, and a credential revoked anywhere (another app process, the command line) closes
the sockets opened with it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from http.cookies import SimpleCookie

import pytest
import redis
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from shangliao.app import create_app
from shangliao.auth.service import SESSION_COOKIE
from shangliao.chat import rates
from shangliao.config import Settings
from shangliao.runtime import Runtime
from shangliao.storage import migrate
from tests.support.backends import postgres_database, unavailable
from tests.support.customers import make_customer
from tests.support.live import free_port
from tests.support.shops import OWNER_PASSWORD, ShopFixture, make_shop

REDIS_URL = "redis://127.0.0.1:6379/0"
SECRET = "42" * 32


@pytest.fixture(scope="module")
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        unavailable("redis", str(exc))
    return REDIS_URL


def app_env(database_url: str, redis_url: str, data_dir) -> dict[str, str]:
    """The environment of a ``shangliao`` process on these services."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SHANGLIAO_")} | {
        "SHANGLIAO_DATABASE_URL": database_url,
        "SHANGLIAO_REDIS_URL": redis_url,
        "SHANGLIAO_SECRET_KEY": SECRET,
        "SHANGLIAO_DATA_DIR": str(data_dir),
    }


@contextmanager
def app_process(database_url: str, redis_url: str, data_dir) -> Iterator[str]:
    """``uvicorn shangliao.app:create_app`` in a process of its own; yields its base URL."""
    port = free_port()
    env = app_env(database_url, redis_url, data_dir)
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


@dataclass
class TwoProcesses:
    """Two app processes on one PostgreSQL and one Redis, a shop made through ``rt``."""

    rt: Runtime
    shop: ShopFixture
    first: str
    second: str
    env: dict[str, str]

    def socket_url(self, process: str) -> str:
        return process.replace("http://", "ws://") + "/api/v1/ws"


@pytest.fixture
def processes(redis_url, tmp_path) -> Iterator[TwoProcesses]:
    with postgres_database() as database_url, ExitStack() as stack:
        migrate.upgrade(database_url)
        settings = Settings(
            data_dir=tmp_path, database_url=database_url, redis_url=redis_url, secret_key=SECRET
        )
        rt = Runtime.build(settings)
        stack.callback(rt.close)
        shop = make_shop(rt, create_app(runtime=rt))
        first = stack.enter_context(app_process(database_url, redis_url, tmp_path / "a"))
        second = stack.enter_context(app_process(database_url, redis_url, tmp_path / "b"))
        yield TwoProcesses(rt, shop, first, second, app_env(database_url, redis_url, tmp_path / "cli"))


def test_a_message_sent_through_one_process_reaches_a_socket_on_the_other(processes):
    first, shop = processes.first, processes.shop
    customer_id, _ = make_customer(processes.rt, shop)
    conversation = post(f"{first}/api/v1/customers/{customer_id}/conversation", shop.token, {})

    with connect(
        processes.socket_url(processes.second), additional_headers={"Authorization": f"Bearer {shop.token}"}
    ) as ws:
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


def sign_in(base: str, username: str) -> str:
    """A console session's secret, from the login answer's cookie."""
    request = urllib.request.Request(
        f"{base}/api/v1/auth/login",
        data=json.dumps({"username": username, "password": OWNER_PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        cookies = SimpleCookie(answer.headers["Set-Cookie"])
    return cookies[SESSION_COOKIE].value


def close_code(ws) -> int:
    """Read until the server closes the socket; the code it closed with."""
    try:
        while True:
            ws.recv(timeout=15)
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, "the connection dropped without a close frame"
        return closed.rcvd.code


def test_credentials_revoked_anywhere_close_their_sockets_on_the_other_process(processes):
    first, shop = processes.first, processes.shop
    made = post(f"{first}/api/v1/auth/tokens", shop.token, {"name": "erp", "scopes": ["chat.read"]})
    session = sign_in(first, shop.owner_username)
    url = processes.socket_url(processes.second)
    with (
        connect(url, additional_headers={"Authorization": f"Bearer {made['token']}"}) as by_token,
        connect(url, additional_headers={"Cookie": f"{SESSION_COOKIE}={session}"}) as by_session,
        connect(url, additional_headers={"Authorization": f"Bearer {shop.token}"}) as untouched,
    ):
        for ws in (by_token, by_session, untouched):  # each is attached to its process's hub
            ws.send(json.dumps({"type": "ping"}))
            assert json.loads(ws.recv(timeout=10))["type"] == "pong"
        # when the token is revoked through the first process, and the password is changed from
        # the command line (a third process)
        request = urllib.request.Request(
            f"{first}/api/v1/auth/tokens/{made['id']}",
            headers={"Authorization": f"Bearer {shop.token}"},
            method="DELETE",
        )
        urllib.request.urlopen(request, timeout=10).close()
        subprocess.run(
            [sys.executable, "-m", "shangliao.cli.main", "user", "passwd", shop.owner_username],
            env=processes.env | {"SHANGLIAO_PASSWORD": "a new and long secret"},
            check=True,
            capture_output=True,
        )
        # then the second process closes both sockets, and keeps the one whose credential stands
        codes = [close_code(by_token), close_code(by_session)]
        untouched.send(json.dumps({"type": "ping"}))
        answer = json.loads(untouched.recv(timeout=10))

    assert codes == [1008, 1008]
    assert answer["type"] == "pong"


def test_a_persons_sends_are_counted_once_across_processes(processes):
    first, second, shop = processes.first, processes.second, processes.shop
    customer_id, _ = make_customer(processes.rt, shop)
    conversation = post(f"{first}/api/v1/customers/{customer_id}/conversation", shop.token, {})
    limit = min(int(rule.split("/")[0]) for rule in rates.SENDS)
    headers = {"Authorization": f"Bearer {shop.token}"}

    def send(ws, i: int) -> None:
        ws.send(json.dumps({"type": "send", "conversation_id": conversation["id"], "body": f"第{i}条"}))

    # given a staff member who sent as many messages at once as allowed through one process
    with connect(processes.socket_url(first), additional_headers=headers) as ws:
        for i in range(limit):
            send(ws, i)
            while json.loads(ws.recv(timeout=15))["type"] != "ack":
                pass
    # when they send once more through the other process
    with connect(processes.socket_url(second), additional_headers=headers) as ws:
        send(ws, limit)
        # then that process knows the count too: the socket is closed for going too fast
        assert close_code(ws) == 1008
