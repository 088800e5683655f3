"""What keeps an open socket honest: its credential is checked for every act and revocation closes
it (rule 20 of docs/architecture.md), a client that stops reading is dropped and its slot freed,
typing notices are rate-limited per person and published off the event loop, and a customer's
reconnect replays only what that device may see.

Closing "within seconds" is observed on a real server with a real client (a bounded wait for the
close frame, never a measured time); checks that every act makes are observed in-process."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from shangliao.auth.models import Staff
from shangliao.auth.service import SESSION_COOKIE, do_set_password
from shangliao.chat import rates
from shangliao.core import clock
from shangliao.storefront.visitors import VISITOR_COOKIE
from tests.support import sockets
from tests.support.chat import guest_client
from tests.support.live import serve
from tests.support.shops import OWNER_PASSWORD
from tests.support.sockets import (
    STAFF_WS,
    closed_before,
    guest_socket,
    next_event,
    next_message,
    staff_socket,
)

client, guest = sockets.client, sockets.guest  # fixtures

WAIT = 15.0  # seconds a real client waits for a frame before the test gives up


@pytest.fixture
def live(app):
    with serve(app) as url:
        yield url.replace("http://", "ws://")


def sign_in(app, shop) -> tuple[TestClient, str]:
    """A browser signed in as the shop's owner, and its session cookie's secret."""
    browser = TestClient(app)
    r = browser.post("/api/v1/auth/login", json={"username": shop.owner_username, "password": OWNER_PASSWORD})
    assert r.status_code == 200, r.text
    return browser, r.cookies[SESSION_COOKIE]


def session_headers(secret: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={secret}"}


def close_code(ws) -> int:
    """Read until the server closes the socket; the code it closed with."""
    try:
        while True:
            ws.recv(timeout=WAIT)
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, "the connection dropped without a close frame"
        return closed.rcvd.code


def answers_ping(ws) -> bool:
    ws.send(json.dumps({"type": "ping"}))
    while True:
        if json.loads(ws.recv(timeout=WAIT))["type"] == "pong":
            return True


def stored_bodies(shop, conversation_id: int) -> list[str]:
    return [m["body"] for m in shop.api.get(f"/api/v1/conversations/{conversation_id}/messages").json()]


# --- revocation reaches open sockets --------------------------------------------------------------


def test_signing_out_closes_the_sockets_of_that_session_and_no_other(app, live, shop):
    # given the owner's browser session and an integration's API token, each with a socket open
    browser, secret = sign_in(app, shop)
    with (
        connect(live + STAFF_WS, additional_headers=session_headers(secret)) as in_browser,
        connect(live + STAFF_WS, additional_headers={"Authorization": f"Bearer {shop.token}"}) as api,
    ):
        assert answers_ping(in_browser) and answers_ping(api)
        # when the browser signs out
        assert browser.post("/api/v1/auth/logout").status_code == 204
        # then its socket is closed as a policy matter, and the token's socket carries on
        assert close_code(in_browser) == 1008
        assert answers_ping(api)


def test_revoking_a_token_closes_its_socket(live, shop):
    made = shop.api.post("/api/v1/auth/tokens", json={"name": "erp", "scopes": ["chat.read"]}).json()
    with connect(live + STAFF_WS, additional_headers={"Authorization": f"Bearer {made['token']}"}) as ws:
        assert answers_ping(ws)

        assert shop.api.delete(f"/api/v1/auth/tokens/{made['id']}").status_code == 204

        assert close_code(ws) == 1008


def test_a_new_password_closes_every_session_socket(runtime, app, live, shop):
    sessions = [sign_in(app, shop)[1] for _ in range(2)]
    with (
        connect(live + STAFF_WS, additional_headers=session_headers(sessions[0])) as first,
        connect(live + STAFF_WS, additional_headers=session_headers(sessions[1])) as second,
    ):
        assert answers_ping(first) and answers_ping(second)
        # when the password is changed (what `shangliao user passwd` does)
        with runtime.db.write() as session:
            owner = session.scalar(select(Staff).where(Staff.id == shop.owner_id))
            do_set_password(session, owner, "an entirely new secret")

        assert [close_code(first), close_code(second)] == [1008, 1008]


def test_a_revoked_socket_cannot_write_even_when_the_notice_never_came(runtime, client, shop, guest):
    made = shop.api.post(
        "/api/v1/auth/tokens", json={"name": "bot", "scopes": ["chat.read", "chat.write"]}
    ).json()
    conversation_id = guest["conversation_id"]
    with staff_socket(client, shop, token=made["token"]) as ws:
        ws.send_text(json.dumps({"type": "ping"}))
        next_event(ws, "pong")
        # given the token revoked while the bus loses the notice (Redis away, say)
        publish, runtime.bus.publish_many = runtime.bus.publish_many, lambda rows: None
        try:
            assert shop.api.delete(f"/api/v1/auth/tokens/{made['id']}").status_code == 204
        finally:
            runtime.bus.publish_many = publish
        # when the socket still tries to write
        ws.send_text(
            json.dumps(
                {
                    "type": "send",
                    "conversation_id": conversation_id,
                    "body": "撤销后还想发",
                    "client_id": "after-revoke-1",
                }
            )
        )
        with pytest.raises(WebSocketDisconnect) as closed:
            next_event(ws, "ack")

    # then it is closed and nothing was written
    assert closed.value.code == 1008
    assert stored_bodies(shop, conversation_id) == []


def test_a_socket_whose_credential_expired_is_closed_at_its_next_frame(frozen, client, shop, guest):
    made = shop.api.post("/api/v1/auth/tokens", json={"name": "day", "expires_in_days": 1}).json()
    with staff_socket(client, shop, token=made["token"]) as ws:
        ws.send_text(json.dumps({"type": "ping"}))
        next_event(ws, "pong")
        # given the token's day is over
        frozen(clock.now() + timedelta(days=2))
        ws.send_text(
            json.dumps(
                {
                    "type": "send",
                    "conversation_id": guest["conversation_id"],
                    "body": "过期了",
                    "client_id": "expired-0001",
                }
            )
        )
        with pytest.raises(WebSocketDisconnect) as closed:
            next_event(ws, "ack")

    assert closed.value.code == 1008
    assert stored_bodies(shop, guest["conversation_id"]) == []


# --- a client that stops reading -----------------------------------------------------------------


def open_without_reading(url: str, token: str) -> socket.socket:
    """A WebSocket handshake by hand on a socket with a tiny receive buffer, then never a read: a
    phone whose app froze, or a client that wants to hold the server's memory."""
    parts = urlsplit(url)
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect((parts.hostname, parts.port))
    key = base64.b64encode(os.urandom(16)).decode()
    raw.sendall(
        (
            f"GET {STAFF_WS} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        ).encode()
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += raw.recv(1)
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return raw


def try_open(url: str, headers: dict[str, str]):
    """An open socket, or None when the server refused it (a 403 before the handshake)."""
    try:
        return connect(url, additional_headers=headers)
    except InvalidStatus:
        return None


def test_a_socket_that_stops_reading_is_dropped_and_its_slot_freed(monkeypatch, live, shop, guest):
    from shangliao.web import ws as ws_module

    # given one socket allowed per person, and the owner's held by a client that never reads
    monkeypatch.setattr(ws_module, "MAX_SOCKETS_PER_PERSON", 1)
    monkeypatch.setattr(ws_module, "CONNECTS", "1000/minute")
    monkeypatch.setattr(ws_module, "SEND_SECONDS", 0.5, raising=False)
    stuck = open_without_reading(live, shop.token)
    headers = {"Authorization": f"Bearer {shop.token}"}
    try:
        assert try_open(live + STAFF_WS, headers) is None  # the slot is taken
        # when the shop's conversations go on: far more than the buffers between hold (the kernel
        # alone takes a few megabytes; each message here is about 8 kB on the wire)
        url = f"/api/v1/conversations/{guest['conversation_id']}/messages"
        page = "😀" * 1990
        opened = None
        for n in range(2000):
            assert shop.api.post(url, json={"body": f"{n} {page}"}).status_code == 201
            # then once the stuck socket is dropped, its owner may open another
            if (opened := try_open(live + STAFF_WS, headers)) is not None:
                break
        assert opened is not None, "the stuck socket kept its slot"
        with opened:
            assert answers_ping(opened)
    finally:
        stuck.close()


# --- a person's sends: one count, whichever way they come ---------------------------------------

SEND_LIMIT = min(int(rule.split("/")[0]) for rule in rates.SENDS)  # what a burst may hold


def send_frame(i: int) -> str:
    return json.dumps({"type": "send", "body": f"第{i}条", "client_id": f"burst-{i:06d}"})


def use_up_sends_over_a_socket(client, shop, guest) -> None:
    """As many sends, acknowledged one by one, as a burst may hold."""
    with guest_socket(client, shop, guest) as phone:
        for i in range(SEND_LIMIT):
            phone.send_text(send_frame(i))
            next_event(phone, "ack")


def close_code_of_one_more_send(client, shop, guest) -> int:
    """Open a socket, send one message, and read until the socket closes (past whatever it
    replays first), failing if the send is acknowledged; the close code."""
    with guest_socket(client, shop, guest) as phone:
        phone.send_text(send_frame(SEND_LIMIT))
        with pytest.raises(WebSocketDisconnect) as closed:
            closed_before(phone, "ack")
    return closed.value.code


def test_sends_over_http_count_against_the_same_persons_socket_sends(client, shop, guest):
    # given a customer who used up their sends on the shop page's HTTP API
    client.cookies.set(VISITOR_COOKIE, guest["cookie"], path=f"/s/{shop.slug}")
    for i in range(SEND_LIMIT):
        r = client.post(f"/s/{shop.slug}/api/messages", json={"body": f"第{i}条"})
        assert r.status_code == 201, r.text
    # when they send once more over a socket
    # then the socket is closed for going too fast, and the message is not stored
    assert close_code_of_one_more_send(client, shop, guest) == 1008
    assert len(stored_bodies(shop, guest["conversation_id"])) == SEND_LIMIT


def test_reconnecting_does_not_give_a_fresh_allowance_of_sends(client, shop, guest):
    # given a customer who sent as many messages at once as a socket allows
    use_up_sends_over_a_socket(client, shop, guest)
    # when they reconnect and send again at once
    # then the new socket is closed too, and nothing more is stored
    assert close_code_of_one_more_send(client, shop, guest) == 1008
    assert len(stored_bodies(shop, guest["conversation_id"])) == SEND_LIMIT


def test_a_socket_over_the_send_limit_refuses_http_sends_too(client, shop, guest):
    # given a customer who used up their sends over a socket
    use_up_sends_over_a_socket(client, shop, guest)
    # when they send over the shop page's HTTP API instead
    refused = client.post(f"/s/{shop.slug}/api/messages", json={"body": "换个路子"})

    # then it is refused the same way, and nothing is stored
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate.limited"
    assert len(stored_bodies(shop, guest["conversation_id"])) == SEND_LIMIT


# --- typing ---------------------------------------------------------------------------------------


def test_typing_notices_are_rate_limited_per_person_across_their_sockets(monkeypatch, client, shop, guest):
    monkeypatch.setattr(rates, "TYPINGS", ("3/minute",))
    typing = json.dumps({"type": "typing"})
    with guest_socket(client, shop, guest) as phone, guest_socket(client, shop, guest) as tablet:
        # given two notices from the customer's phone
        for _ in range(2):
            phone.send_text(typing)
        phone.send_text(json.dumps({"type": "ping"}))
        next_event(phone, "pong")
        # when their tablet sends two more
        for _ in range(2):
            tablet.send_text(typing)
        tablet.send_text(json.dumps({"type": "ping"}))
        # then the tablet, over the person's limit, is closed
        with pytest.raises(WebSocketDisconnect) as closed:
            next_event(tablet, "pong")

    assert closed.value.code == 1008


def test_a_typing_notice_the_bus_cannot_take_holds_up_no_other_socket(runtime, live, shop, guest):
    # given a bus that hangs (an unresponsive Redis) for as long as the test says
    release = threading.Event()
    publish = runtime.bus.publish_many

    def hung(rows):
        release.wait(WAIT * 2)
        publish(rows)

    headers = {"Cookie": f"{VISITOR_COOKIE}={guest['cookie']}"}
    with (
        connect(f"{live}/s/{shop.slug}/ws", additional_headers=headers) as phone,
        connect(live + STAFF_WS, additional_headers={"Authorization": f"Bearer {shop.token}"}) as staff,
    ):
        assert answers_ping(phone) and answers_ping(staff)
        runtime.bus.publish_many = hung
        try:
            # when the customer types
            phone.send(json.dumps({"type": "typing"}))
            # then the staff socket is answered meanwhile: the event loop is not waiting on the bus
            assert answers_ping(staff)
        finally:
            runtime.bus.publish_many = publish
            release.set()


# --- a customer's device ------------------------------------------------------------------------


def test_a_device_whose_customer_is_merged_reconnects_as_the_customer_it_now_belongs_to(app, live, shop):
    # given 张三's phone, and a second phone that typed his number (a customer of its own)
    owner = guest_client(app, shop, "张三", "13812345678")
    device = guest_client(app, shop, "张三", "13812345678")
    headers = {"Cookie": f"{VISITOR_COOKIE}={device.cookies[VISITOR_COOKIE]}"}
    with connect(f"{live}/s/{shop.slug}/ws", additional_headers=headers) as ws:
        assert answers_ping(ws)
        # when staff merge the second phone's customer into 张三
        merged = shop.api.post(
            f"/api/v1/customers/{owner.customer_id}/merge", json={"other_id": device.customer_id}
        )
        assert merged.status_code == 200, merged.text
        # then its socket is told to reconnect
        code = close_code(ws)
    # and reconnected, it writes into 张三's conversation (its old one takes nothing new)
    with connect(f"{live}/s/{shop.slug}/ws", additional_headers=headers) as ws:
        ws.send(json.dumps({"type": "send", "body": "换了新手机", "client_id": "after-merge-01"}))
        while (answer := json.loads(ws.recv(timeout=WAIT)))["type"] not in ("ack", "error"):
            pass

    assert code == 1013
    assert answer["type"] == "ack", answer
    assert stored_bodies(shop, owner.conversation_id) == ["换了新手机"]


def test_a_customer_reconnect_replays_their_own_conversation_however_busy_the_shop(
    monkeypatch, client, shop, guest
):
    from shangliao.realtime import feed

    monkeypatch.setattr(feed, "REPLAY_PAGE", 3)
    monkeypatch.setattr(feed, "REPLAY_MAX", 6)
    mine = f"/api/v1/conversations/{guest['conversation_id']}/messages"
    other = client.post(f"/s/{shop.slug}/api/visitor", json={"name": "小明", "phone": "13700005678"}).json()
    theirs = f"/api/v1/conversations/{other['conversation_id']}/messages"
    with guest_socket(client, shop, guest) as phone:
        shop.api.post(mine, json={"body": "开场"})
        seen = next_message(phone, "staff")["seq"]
    # while the phone is away: the shop talks at length with another customer, and twice with this one
    for n in range(8):
        shop.api.post(theirs, json={"body": f"给小明的 {n}"})
    for text in ("第二条", "第三条"):
        shop.api.post(mine, json={"body": text})

    with guest_socket(client, shop, guest, after=seen) as phone:
        first = json.loads(phone.receive_text())
        # the replay is the phone's own messages, not a "reload" for a log too long to page through
        assert first["type"] == "event", first
        second = next_message(phone, "staff")

    assert [first["message"]["body"], second["message"]["body"]] == ["第二条", "第三条"]


# --- signing a socket in ------------------------------------------------------------------------


def test_a_staff_socket_signs_in_from_the_caller_cache_without_reading_its_credential(runtime, client, shop):
    # given a token the caller cache already knows (it just called the API)
    assert shop.api.get("/api/v1/conversations").status_code == 200
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_):
        sent.append(statement)

    # when a staff socket opens with it
    event.listen(runtime.db.reader, "before_cursor_execute", record)
    try:
        with staff_socket(client, shop) as staff:
            staff.send_text(json.dumps({"type": "ping"}))
            next_event(staff, "pong")
    finally:
        event.remove(runtime.db.reader, "before_cursor_execute", record)

    # then the credential's id and expiry came with the cached caller: nothing read the credentials
    assert sent and not any("credentials" in s for s in sent)
