"""WebSockets: ``/api/v1/ws`` for staff, ``/s/{shop}/ws`` for a customer on the shop page.

Who may connect is settled before the handshake completes: a missing or unknown credential, a
page from another site (Origin), or too many sockets for one person is closed with 1008 before
any frame is sent. Then ``?after=N`` (the last event sequence the client saw) replays what it
missed from the durable log, and live events follow, each once, in order.

Frames from the client are small JSON objects: ``send``, ``typing``, ``read``, ``ping``. A frame
over the size limit, sends faster than the rate limit, or silence past the idle timeout end the
socket; a socket that stops reading is dropped once its bounded queue fills (see ``realtime``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson
from anyio import to_thread
from fastapi import APIRouter, Depends, WebSocket, WebSocketException
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect

from shangliao.auth import service as auth
from shangliao.auth.access import AccessRule, check_permission, check_same_origin, credential_from
from shangliao.auth.actor import Actor
from shangliao.chat import service
from shangliao.chat.schemas import SocketFrame
from shangliao.core.errors import Forbidden, ShangliaoError, TooManyRequests
from shangliao.core.i18n import current_locale
from shangliao.realtime.feed import Subscriber, events_after
from shangliao.realtime.hub import Hub
from shangliao.storefront.visitors import VISITOR_COOKIE, Guest, guest_at

router = APIRouter()

POLICY = 1008  # "policy violation": not allowed, or broke the rules
TRY_LATER = 1013  # fell behind: reconnect and replay
MAX_FRAME = 16 * 1024  # bytes of one client frame
MAX_SOCKETS_PER_PERSON = 5
# Connections opened per person: a flaky phone reconnects a few times a minute; a client looping
# on reconnect (each one replays the log after its seq) is made to wait.
CONNECTS = "30/minute"
IDLE_SECONDS = 75.0  # no frame at all from the client for this long: gone
PING_SECONDS = 25.0  # the server says something at least this often
RATE = 5.0  # sends per second, sustained
BURST = 20

_open: Counter[tuple[str, int]] = Counter()  # sockets per person in this process


def _same_origin(websocket: WebSocket) -> None:
    """A browser sends cookies with a socket opened by any site: only our own pages may open one."""
    try:
        check_same_origin(websocket)
    except Forbidden as refused:
        raise WebSocketException(POLICY, "another site") from refused


def staff_socket(permission: str):
    async def require_staff_socket(websocket: WebSocket) -> Actor:
        _same_origin(websocket)
        found = credential_from(websocket)
        db = websocket.app.state.runtime.db
        actor = await to_thread.run_sync(auth.authenticate, db, found[0]) if found else None
        if actor is None or permission not in actor.permissions:
            raise WebSocketException(POLICY, "sign in first")
        return actor

    require_staff_socket.access = AccessRule("staff", permission)  # type: ignore[attr-defined]
    return require_staff_socket


def guest_socket():
    async def require_guest_socket(websocket: WebSocket, shop: str) -> Guest:
        _same_origin(websocket)
        db = websocket.app.state.runtime.db

        def resolve() -> Guest | None:
            with db.read() as session:
                try:
                    return guest_at(session, shop, websocket.cookies.get(VISITOR_COOKIE))
                except ShangliaoError:  # no such shop
                    return None

        guest = await to_thread.run_sync(resolve)
        if guest is None:
            raise WebSocketException(POLICY, "not a visitor of this shop")
        return guest

    require_guest_socket.access = AccessRule("visitor")  # type: ignore[attr-defined]
    return require_guest_socket


class _Bucket:
    """Token bucket: ``RATE`` sends a second on average, ``BURST`` at once."""

    def __init__(self) -> None:
        self.tokens, self.at = float(BURST), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(BURST, self.tokens + (now - self.at) * RATE)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class Session:
    """One open socket: sends queued events, reads frames, enforces the limits."""

    def __init__(self, websocket: WebSocket, subscriber: Subscriber, who: tuple[str, int]) -> None:
        self.ws, self.subscriber, self.who = websocket, subscriber, who
        self.rt = websocket.app.state.runtime
        self.hub: Hub = websocket.app.state.hub
        self.last_seq = 0
        self.bucket = _Bucket()

    async def run(self, after: int, handle) -> None:
        if _open[self.who] >= MAX_SOCKETS_PER_PERSON:
            raise WebSocketException(POLICY, "too many connections")
        try:
            self.rt.limits.check(CONNECTS, "socket", *map(str, self.who))
        except TooManyRequests as refused:
            raise WebSocketException(TRY_LATER, "too many reconnects") from refused
        _open[self.who] += 1
        detach = await self.hub.attach(self.subscriber)  # buffer live events before reading the backlog
        try:
            await self.ws.accept()
            self.last_seq = after
            replay = await to_thread.run_sync(
                events_after, self.rt.db, self.rt.keyring, self.subscriber, after
            )
            if replay.resync_seq is not None:
                # Too far behind to replay: the client reloads what it shows, then hears what follows.
                self.last_seq = replay.resync_seq
                await self.send({"type": "resync", "seq": replay.resync_seq})
            for payload in replay.payloads:
                await self._send_event(payload)
            sender = asyncio.create_task(self._pump())
            try:
                await self._read(handle)
            finally:
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await sender
        except WebSocketDisconnect:
            pass
        finally:
            detach()
            _open[self.who] -= 1
            if _open[self.who] <= 0:
                del _open[self.who]  # the count holds people connected now, not everyone ever

    async def _send_event(self, payload: dict[str, Any]) -> None:
        seq = payload.get("seq")
        if seq is not None:
            if seq <= self.last_seq:
                return  # already sent by the replay
            self.last_seq = seq
        # "type" says what kind of frame this is; "event" what happened.
        await self.send({**payload, "type": "event", "event": payload["type"]})

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send_text(orjson.dumps(frame).decode())

    async def _pump(self) -> None:
        queue, overflowed = self.subscriber.queue, self.subscriber.overflowed
        while True:
            if overflowed.is_set():
                await self.ws.close(TRY_LATER, "fell behind")
                return
            try:
                payload = await asyncio.wait_for(queue.get(), PING_SECONDS)
            except TimeoutError:
                await self.send({"type": "ping", "seq": self.last_seq})
                continue
            await self._send_event(payload)

    async def _read(self, handle) -> None:
        while True:
            try:
                text = await asyncio.wait_for(self.ws.receive_text(), IDLE_SECONDS)
            except TimeoutError:
                await self.ws.close(1001, "idle")
                return
            if len(text.encode()) > MAX_FRAME:
                await self.ws.close(1009, "frame too large")
                return
            try:
                frame = SocketFrame.model_validate_json(text)
            except ValidationError:
                await self.send({"type": "error", "code": "socket.bad_frame", "message": "unreadable frame"})
                continue
            if frame.type == "ping":
                await self.send({"type": "pong", "seq": self.last_seq})
                continue
            if frame.type == "send" and not self.bucket.take():
                await self.ws.close(POLICY, "sending too fast")
                return
            try:
                reply = await handle(frame)
            except ShangliaoError as exc:
                reply = {"type": "error", "code": exc.code, "message": exc.localized(current_locale.get())}
            if reply is not None:
                await self.send(reply)


def _sent_frame(sent: service.Sent) -> dict[str, Any]:
    return {
        "type": "ack",
        "client_id": sent.client_id,
        "id": sent.id,
        "seq": sent.seq,
        "replayed": sent.replayed,
    }


@dataclass(frozen=True)
class _Speaker:
    """Who is talking on a socket, and in which conversation."""

    shop_id: int
    conversation_id: int
    side: str
    sender_id: int


async def _say(rt, speaker: _Speaker, frame: SocketFrame) -> dict[str, Any]:
    """Send a text frame's message (group-committed like order creation) and acknowledge it."""
    sent = await rt.db.submit(
        lambda s: service.do_send(
            s,
            rt.keyring,
            speaker.shop_id,
            speaker.conversation_id,
            sender_type=speaker.side,
            sender_id=speaker.sender_id,
            kind="text",
            body=frame.body,
            client_id=frame.client_id,
        )
    )
    return _sent_frame(sent)


async def _read(rt, speaker: _Speaker, seq: int) -> None:
    await rt.db.submit(
        lambda s: (
            service.do_mark_read(s, speaker.shop_id, speaker.conversation_id, side=speaker.side, seq=seq).id
        )
    )


def _typing(rt, shop_id: int, conversation_id: int, customer_id: int, side: str) -> None:
    """Typing is not history: straight to the bus, never to the log."""
    typing = {"shop_id": shop_id, "seq": None, "type": "typing", "side": side}
    rt.bus.publish_many([typing | {"conversation_id": conversation_id, "customer_id": customer_id}])


@router.websocket("/api/v1/ws")
async def staff_ws(websocket: WebSocket, after: int = 0, actor: Actor = Depends(staff_socket("chat.read"))):
    rt = websocket.app.state.runtime
    subscriber = Subscriber(actor.shop_id, "staff", can_see_orders="orders.read" in actor.permissions)

    async def handle(frame: SocketFrame) -> dict[str, Any] | None:
        if frame.type != "read":
            check_permission(actor, "chat.write")  # refused with the usual, translated error frame
        conversation_id = frame.conversation_id or 0

        def conversation():
            with rt.db.read() as s:
                c = service.access_conversation(s, actor.shop_id, conversation_id)
                return c.id, c.customer_id

        speaker = _Speaker(actor.shop_id, conversation_id, "staff", actor.staff_id)
        if frame.type == "send":
            return await _say(rt, speaker, frame)
        if frame.type == "typing":
            cid, customer_id = await to_thread.run_sync(conversation)
            _typing(rt, actor.shop_id, cid, customer_id, "staff")
        elif frame.type == "read":
            await _read(rt, speaker, frame.seq or 0)
        return None

    await Session(websocket, subscriber, ("staff", actor.staff_id)).run(max(after, 0), handle)


@router.websocket("/s/{shop}/ws")
async def guest_ws(websocket: WebSocket, shop: str, after: int = 0, guest: Guest = Depends(guest_socket())):
    rt = websocket.app.state.runtime
    subscriber = Subscriber(
        guest.shop_id,
        "customer",
        customer_id=guest.customer_id,
        since_seq=guest.since_seq,
        joined_at=guest.joined_at,
    )

    async def handle(frame: SocketFrame) -> dict[str, Any] | None:
        speaker = _Speaker(guest.shop_id, guest.conversation_id, "customer", guest.customer_id)
        if frame.type == "send":
            return await _say(rt, speaker, frame)
        if frame.type == "typing":
            _typing(rt, guest.shop_id, guest.conversation_id, guest.customer_id, "customer")
        elif frame.type == "read":
            await _read(rt, speaker, frame.seq or 0)
        return None

    await Session(websocket, subscriber, ("customer", guest.customer_id)).run(max(after, 0), handle)
