"""Sockets in tests: a TestClient holding one event loop for the whole test (like a server), a
customer's device on the shop page, and reading the frames a test waits for."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from shangliao.storefront.visitors import VISITOR_COOKIE

STAFF_WS = "/api/v1/ws"


@pytest.fixture
def client(app):
    with TestClient(app) as c:  # one event loop for the whole test, like a server
        yield c


@pytest.fixture
def guest(client, shop):
    r = client.post(f"/s/{shop.slug}/api/visitor", json={"name": "小红", "phone": "13700001234"})
    assert r.status_code == 200, r.text
    return r.json() | {"cookie": r.cookies[VISITOR_COOKIE]}


def staff_socket(client, shop, after: int = 0, token: str | None = None):
    return client.websocket_connect(
        f"{STAFF_WS}?after={after}", headers={"Authorization": f"Bearer {token or shop.token}"}
    )


def guest_socket(client, shop, guest, after: int = 0):
    client.cookies.set(VISITOR_COOKIE, guest["cookie"], path=f"/s/{shop.slug}")
    return client.websocket_connect(f"/s/{shop.slug}/ws?after={after}")


def next_event(ws, type_: str) -> dict:
    """The next frame of ``type_`` (pings and events on the way are skipped)."""
    for _ in range(20):
        frame = json.loads(ws.receive_text())
        if frame.get("type") == type_:
            return frame
    raise AssertionError(f"no {type_} frame")


def closed_before(ws, type_: str, *, frames: int = 500) -> None:
    """Read until the socket closes (raising ``WebSocketDisconnect``), failing on a ``type_`` frame
    first: whatever it replays before closing (every stored message, pings) is passed over."""
    for _ in range(frames):
        frame = json.loads(ws.receive_text())
        assert frame.get("type") != type_, frame
    raise AssertionError(f"still open after {frames} frames")


def next_message(ws, sender: str | None = None) -> dict:
    """The next message event (from ``sender``, when given: a sender hears its own messages too)."""
    for _ in range(20):
        frame = json.loads(ws.receive_text())
        mine = frame.get("type") == "event" and "message" in frame
        if mine and (sender is None or frame["message"]["sender_type"] == sender):
            return frame
    raise AssertionError("no message event")
