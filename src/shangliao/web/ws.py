"""WebSockets: ``/api/v1/ws`` for staff, ``/s/{shop}/ws`` for a customer on the shop page.

Who may connect is settled before the handshake completes: a missing or unknown credential, a
page from another site (Origin), or too many sockets for one person is closed with 1008 before
any frame is sent. Then ``?after=N`` (the last event sequence the client saw) replays what it
missed from the durable log, and live events follow, each once, in order.

Frames from the client are small JSON objects: ``send``, ``typing``, ``read``, ``ping``. A frame
over the size limit, sends or typing notices faster than the person's rate limit, or silence past
the idle timeout end the socket.

A staff socket lives only as long as its credential (rule 20 of docs/architecture.md): revoking
it (logout, a revoked token, a new password) ends the socket with 1008 through the event log and
the bus, in whichever process holds it. Every frame it acts on is checked against the credential
as it is now, before anything reaches the writer (the caller cache, which the same revocation
empties; a lost notice leaves a revoked credential working for at most the cache's few seconds),
the credential is read again every ``RECHECK_SECONDS`` whatever the bus said, and the socket is
closed when the credential expires.

A socket that stops reading is dropped with 1013 and its slot freed: a send that cannot complete
within ``SEND_SECONDS``, or a queue over its bound (see ``realtime``), ends it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from anyio import to_thread
from fastapi import APIRouter, Depends, WebSocket, WebSocketException
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect

from shangliao.assignment import presence
from shangliao.auth import service as auth
from shangliao.auth.access import AccessRule, check_permission, check_same_origin, credential_from
from shangliao.auth.actor import Actor
from shangliao.auth.scope import Scope, Viewer
from shangliao.chat import rates, service
from shangliao.chat.cards import card_view
from shangliao.chat.schemas import SocketFrame
from shangliao.core import clock
from shangliao.core.errors import Forbidden, ShangliaoError, TooManyRequests, Unauthorized
from shangliao.core.i18n import N_, current_locale
from shangliao.realtime.feed import POLICY, TRY_LATER, Subscriber, events_after
from shangliao.realtime.hub import Hub
from shangliao.storefront.visitors import VISITOR_COOKIE, Guest, guest_at

log = logging.getLogger(__name__)
router = APIRouter()

MAX_FRAME = 16 * 1024  # bytes of one client frame
MAX_SOCKETS_PER_PERSON = 5
# Connections opened per person: a flaky phone reconnects a few times a minute; a client looping
# on reconnect (each one replays the log after its seq) is made to wait.
CONNECTS = "30/minute"
IDLE_SECONDS = 75.0  # no frame at all from the client for this long: gone
PING_SECONDS = 25.0  # the server says something at least this often
# A frame the client's connection cannot take within this long: it stopped reading (or its
# network did). Its socket is ended rather than holding its slot and its queue.
SEND_SECONDS = 5.0
# A staff socket's credential is read again this often, whatever the bus said: a revocation whose
# notice was lost (Redis away, ``shangliao user passwd`` run beside a one-process SQLite server)
# still ends the socket.
RECHECK_SECONDS = 30.0

_open: Counter[tuple[str, int]] = Counter()  # sockets per person in this process


def _same_origin(websocket: WebSocket) -> None:
    """A browser sends cookies with a socket opened by any site: only our own pages may open one."""
    try:
        check_same_origin(websocket)
    except Forbidden as refused:
        raise WebSocketException(POLICY, "another site") from refused


@dataclass(frozen=True)
class StaffCaller:
    """A staff socket's credential as the handshake found it: the secret is kept (in memory only,
    as the client holds it) so that every act can resolve it again."""

    actor: Actor
    secret: str
    credential_id: int
    expires_at: datetime | None

    async def now(self, db) -> Actor | None:
        """The credential's caller as it is now (the caller cache, which every revocation empties
        through the bus), or None once it is revoked or expired."""
        return await auth.authenticate_async(db, self.secret)

    async def allowed(self, db, permission: str) -> Actor:
        """Refused like any request: 401 when the credential is gone (the socket then ends),
        the usual translated 403 when the permission is."""
        actor = await self.now(db)
        if actor is None:
            raise Unauthorized("auth.required", N_("Please sign in first."))
        return check_permission(actor, permission)


def _sign_in(db, secret: str) -> StaffCaller | None:
    found = auth.authenticate_found(db, secret)
    return StaffCaller(found.actor, secret, found.credential_id, found.expires_at) if found else None


# What a staff socket carries, and the permission each part needs: whoever holds none of them has
# nothing to listen to. The subscriber shows each caller only the parts they hold (realtime/feed.py).
STAFF_FEEDS = (("chat", "chat.read"), ("orders", "orders.read"))


def staff_socket(feeds: tuple[tuple[str, str], ...] = STAFF_FEEDS):
    """Staff holding the permission of at least one of ``feeds``: the socket then shows them only
    those feeds (a member who may read orders but not chats hears order events and no message)."""
    wanted = {permission for _, permission in feeds}

    async def require_staff_socket(websocket: WebSocket) -> StaffCaller:
        _same_origin(websocket)
        found = credential_from(websocket)
        db = websocket.app.state.runtime.db
        signed = await to_thread.run_sync(_sign_in, db, found[0]) if found else None
        if signed is None or not wanted & signed.actor.permissions:
            raise WebSocketException(POLICY, "sign in first")
        return signed

    # No one permission every caller needs: each feed's is declared beside it.
    require_staff_socket.access = AccessRule("staff", None, feeds)  # type: ignore[attr-defined]
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


class _Ended(Exception):
    """The socket's subscriber was ended: unwind to the one place that closes it."""


# How a socket's task may end when the client went away first: nothing to report.
_GONE = (_Ended, WebSocketDisconnect, OSError)  # the server's "client disconnected" is an OSError


Handler = Callable[[SocketFrame], Awaitable[dict[str, Any] | None]]


class Session:
    """One open socket: sends queued events, reads frames, enforces the limits.

    Three things run at once: delivery (the replay, then live events), reading frames, and a
    watch on ``subscriber.ended``. Whichever finishes first ends the others; the person's slot and
    the hub's subscription are freed before the close frame is tried, so a client that does not
    read cannot hold them.
    """

    def __init__(
        self,
        websocket: WebSocket,
        subscriber: Subscriber,
        who: tuple[str, int],
        *,
        still_valid: Callable[[], Awaitable[bool]] | None = None,
        expires_at: datetime | None = None,
    ) -> None:
        self.ws, self.subscriber, self.who = websocket, subscriber, who
        self.rt = websocket.app.state.runtime
        self.hub: Hub = websocket.app.state.hub
        self.last_seq = 0
        self._held = False  # one of the person's MAX_SOCKETS_PER_PERSON slots
        self.still_valid, self.expires_at = still_valid, expires_at

    async def run(self, after: int, handle: Handler) -> None:
        if _open[self.who] >= MAX_SOCKETS_PER_PERSON:
            raise WebSocketException(POLICY, "too many connections")
        _open[self.who] += 1  # taken before any await: two sockets at once cannot both slip in
        self._held = True
        detach: Callable[[], None] = lambda: None  # noqa: E731
        try:
            try:  # counted in Redis with several processes: off the event loop
                await to_thread.run_sync(self.rt.limits.check, CONNECTS, "socket", *map(str, self.who))
            except TooManyRequests as refused:
                raise WebSocketException(TRY_LATER, "too many reconnects") from refused
            detach = await self.hub.attach(self.subscriber)  # buffer live events before reading the backlog
            await self.ws.accept()
            await self._serve(after, handle)
            detach()
            self._release()
            if self.subscriber.ended.is_set():
                with contextlib.suppress(Exception):  # gone already, or not reading: nothing to tell
                    await asyncio.wait_for(
                        self.ws.close(self.subscriber.end_code, self.subscriber.end_reason), SEND_SECONDS
                    )
        except WebSocketDisconnect:
            pass
        finally:
            detach()
            self._release()

    async def _serve(self, after: int, handle: Handler) -> None:
        """Deliver and read until either stops or the subscriber is ended; meanwhile check the
        credential now and then (a revocation whose notice never came, an expiry)."""
        ended = self.subscriber.ended
        tasks = [
            asyncio.create_task(self._deliver(after)),
            asyncio.create_task(self._read(handle)),
            asyncio.create_task(ended.wait()),
        ]
        try:
            while not ended.is_set():
                done, _ = await asyncio.wait(
                    tasks, timeout=self._next_check(), return_when=asyncio.FIRST_COMPLETED
                )
                if done:
                    return
                if self._expired():
                    self.subscriber.end(POLICY, "session expired")
                elif self.still_valid is not None and not await self.still_valid():
                    self.subscriber.end(POLICY, "signed out")
        finally:
            for task in tasks:
                task.cancel()
            # Wait with asyncio.wait, never gather: when the server cancels this endpoint while
            # the tasks unwind (the client closed, and the server shuts its side down), gather
            # raises a task's own CancelledError instead of this one's; that error is not the
            # server's cancellation, so its cancel scope lets it escape the endpoint. Bounded: a
            # task cancelled inside a worker-thread call (the replay's read) was seen, rarely, never
            # to wake again, which held the close frame back for good; the socket closes anyway.
            _, stuck = await asyncio.wait(tasks, timeout=SEND_SECONDS)
            if stuck:
                log.warning("socket tasks still unwinding at close: %d", len(stuck))
            for task in tasks:
                if not task.done():
                    continue
                failed = None if task.cancelled() else task.exception()
                if isinstance(failed, Exception) and not isinstance(failed, _GONE):
                    log.error("socket task failed", exc_info=failed)
                    self.subscriber.end(1011, "server error")

    def _next_check(self) -> float | None:
        waits = [] if self.still_valid is None else [RECHECK_SECONDS]
        if self.expires_at is not None:
            waits.append(max(0.0, (self.expires_at - clock.now()).total_seconds()))
        return min(waits, default=None)

    def _release(self) -> None:
        """Give the person's slot back (once)."""
        if not self._held:
            return
        self._held = False
        _open[self.who] -= 1
        if _open[self.who] <= 0:
            del _open[self.who]  # the count holds people connected now, not everyone ever

    async def _within_rate(self, kind: str) -> bool:
        """Count a send or typing notice against the person's limits: the same count as their HTTP
        sends, over all their sockets in every process, surviving a reconnect (``chat.rates``)."""
        if kind not in rates.LIMITED:
            return True
        check = functools.partial(rates.check_rate, self.rt.limits, kind, self.subscriber.shop_id, *self.who)
        try:
            if self.rt.limits.shared:  # may wait on Redis: not on the event loop
                await to_thread.run_sync(check)
            else:
                check()
        except TooManyRequests:
            return False
        return True

    def _expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= clock.now()

    async def _deliver(self, after: int) -> None:
        self.last_seq = after
        # Once attached to the hub: a credential revoked before the hub could hear of it for this
        # socket is caught here; one revoked later reaches the socket live.
        if self.still_valid is not None and not await self.still_valid():
            return self.subscriber.end(POLICY, "signed out")
        replay = await to_thread.run_sync(events_after, self.rt.db, self.rt.keyring, self.subscriber, after)
        with contextlib.suppress(_Ended):
            if replay.resync_seq is not None:
                # Too far behind to replay: the client reloads what it shows, then hears what follows.
                self.last_seq = replay.resync_seq
                await self.send({"type": "resync", "seq": replay.resync_seq})
            for payload in replay.payloads:
                await self._send_event(payload)
            await self._pump()

    async def _send_event(self, payload: dict[str, Any]) -> None:
        seq = payload.get("seq")
        if seq is not None:
            if seq <= self.last_seq:
                return  # already sent by the replay
            self.last_seq = seq
        payload = self.subscriber.shown(payload)
        # "type" says what kind of frame this is; "event" what happened.
        await self.send({**payload, "type": "event", "event": payload["type"]})

    async def send(self, frame: dict[str, Any]) -> None:
        try:
            await asyncio.wait_for(self.ws.send_text(orjson.dumps(frame).decode()), SEND_SECONDS)
        except TimeoutError:
            self.subscriber.end(TRY_LATER, "not reading")
            raise _Ended from None

    async def _pump(self) -> None:
        queue = self.subscriber.queue
        while True:
            try:
                payload = await asyncio.wait_for(queue.get(), PING_SECONDS)
            except TimeoutError:
                await self.send({"type": "ping", "seq": self.last_seq})
                continue
            await self._send_event(payload)

    async def _read(self, handle: Handler) -> None:
        with contextlib.suppress(_Ended):
            while True:
                try:
                    text = await asyncio.wait_for(self.ws.receive_text(), IDLE_SECONDS)
                except TimeoutError:
                    return self.subscriber.end(1001, "idle")
                if len(text.encode()) > MAX_FRAME:
                    return self.subscriber.end(1009, "frame too large")
                if self._expired():
                    return self.subscriber.end(POLICY, "session expired")
                try:
                    frame = SocketFrame.model_validate_json(text)
                except ValidationError:
                    await self.send(
                        {"type": "error", "code": "socket.bad_frame", "message": "unreadable frame"}
                    )
                    continue
                if frame.type == "ping":
                    await self.send({"type": "pong", "seq": self.last_seq})
                    continue
                if not await self._within_rate(frame.type):
                    return self.subscriber.end(POLICY, f"{frame.type} too fast")
                try:
                    reply = await handle(frame)
                except Unauthorized:  # the credential went while the socket was open
                    return self.subscriber.end(POLICY, "signed out")
                except ShangliaoError as exc:
                    reply = {
                        "type": "error",
                        "code": exc.code,
                        "message": exc.localized(current_locale.get()),
                    }
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


def _typing(rt, who: Viewer, conversation_id: int, side: str) -> None:
    """Typing is not history: straight to the bus, never to the log. Called on a worker thread:
    a publish that waits on Redis must not hold up every socket of the process. The conversation
    is read first (in ``who``'s scope: a member's frame about another's is refused as not found),
    and its assignee goes with the event, so only the members who may see it are shown it."""
    with rt.db.read() as s:
        c = service.access_conversation(s, who, conversation_id)
        found = {"conversation_id": c.id, "customer_id": c.customer_id, "assignee_id": c.assignee_id}
    rt.bus.publish_many([{"shop_id": who.shop_id, "seq": None, "type": "typing", "side": side} | found])


def _in_scope(rt, who: Viewer, conversation_id: int) -> None:
    with rt.db.read() as s:
        service.access_conversation(s, who, conversation_id)


@router.websocket("/api/v1/ws")
async def staff_ws(websocket: WebSocket, after: int = 0, signed: StaffCaller = Depends(staff_socket())):
    rt = websocket.app.state.runtime
    actor = signed.actor
    subscriber = Subscriber(
        actor.shop_id,
        "staff",
        can_see_chats="chat.read" in actor.permissions,
        can_see_orders="orders.read" in actor.permissions,
        credential_id=signed.credential_id,
        staff_id=actor.staff_id,
        data_scope=actor.data_scope,
        sees_unassigned=actor.sees_unassigned,
        hears_notifications=actor.via == "session",
        view=card_view(actor),
    )

    async def handle(frame: SocketFrame) -> dict[str, Any] | None:
        # The credential as it is now, not as it was at the handshake, and before anything is
        # queued for the writer (rule 16 of docs/architecture.md).
        await signed.allowed(rt.db, "chat.read" if frame.type == "read" else "chat.write")
        conversation_id = frame.conversation_id or 0
        speaker = _Speaker(actor.shop_id, conversation_id, "staff", actor.staff_id)
        if frame.type == "typing":
            await to_thread.run_sync(_typing, rt, actor, conversation_id, "staff")
            return None
        if actor.limited:  # out of their data scope: "not found", as over HTTP (before the writer)
            await to_thread.run_sync(_in_scope, rt, actor, conversation_id)
        if frame.type == "send":
            return await _say(rt, speaker, frame)
        if frame.type == "read":
            await _read(rt, speaker, frame.seq or 0)
        return None

    async def seen() -> None:
        # An open console is a member at work: online for round-robin (assignment/presence.py).
        # An API token's socket is an integration, not a person.
        if actor.via == "session":
            await presence.touch(rt.db, actor.shop_id, actor.staff_id)

    async def still_valid() -> bool:
        if await signed.now(rt.db) is None:
            return False
        await seen()  # checked every RECHECK_SECONDS: presence is written at most once a minute
        return True

    await seen()
    session = Session(
        websocket,
        subscriber,
        ("staff", actor.staff_id),
        still_valid=still_valid,
        expires_at=signed.expires_at,
    )
    await session.run(max(after, 0), handle)


@router.websocket("/s/{shop}/ws")
async def guest_ws(websocket: WebSocket, shop: str, after: int = 0, guest: Guest = Depends(guest_socket())):
    rt = websocket.app.state.runtime
    subscriber = Subscriber(
        guest.shop_id,
        "customer",
        customer_id=guest.customer_id,
        since_seq=guest.since_seq,
        joined_at=guest.joined_at,
        conversation_id=guest.conversation_id,
    )

    async def handle(frame: SocketFrame) -> dict[str, Any] | None:
        speaker = _Speaker(guest.shop_id, guest.conversation_id, "customer", guest.customer_id)
        if frame.type == "send":
            return await _say(rt, speaker, frame)
        if frame.type == "typing":
            await to_thread.run_sync(
                _typing, rt, Scope.whole_shop(guest.shop_id), guest.conversation_id, "customer"
            )
        elif frame.type == "read":
            await _read(rt, speaker, frame.seq or 0)
        return None

    await Session(websocket, subscriber, ("customer", guest.customer_id)).run(max(after, 0), handle)
