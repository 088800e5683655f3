"""The socket half of the chat floor: a bare Starlette WebSocket relay, nothing of Shangliao in it.

Customer sockets (``/s/{shop}/ws``) send ``{"type": "send", "body", "client_id"}`` frames; the app
reads each one as JSON, answers the sender with an ``ack`` and relays a ``message.created`` event
carrying the text to every staff socket (``/api/v1/ws``). Each socket has a bounded queue emptied
by its own sender task, as Shangliao's hub does, so one slow reader never blocks the others. No
authentication, no database, no validation beyond JSON: what uvicorn, Starlette and the socket cost
to move one message from a customer to the staff before any work of ours.

Served like Shangliao (uvicorn, the same core, the same paths), it is loaded by the same client
with the same socket counts and rates (``chat.py``).

Run: ``uvicorn chat_floor_app:create_app --factory --app-dir bench``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools

import orjson
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

QUEUE_SIZE = 256


class _Outbox:
    """A socket's bounded queue and the task that empties it."""

    def __init__(self, websocket: WebSocket) -> None:
        self.ws = websocket
        self.queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_SIZE)
        self.task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        while True:
            await self.ws.send_text(await self.queue.get())

    def offer(self, text: str) -> None:
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:  # fell behind: close the socket, as the product does (1013)
            self.task.cancel()
            asyncio.get_running_loop().create_task(self.ws.close(1013, "fell behind"))

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task


def create_app() -> Starlette:
    staff: set[_Outbox] = set()
    seq = itertools.count(1)

    async def healthz(_request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def staff_ws(websocket: WebSocket) -> None:
        await websocket.accept()
        outbox = _Outbox(websocket)
        staff.add(outbox)
        try:
            while True:  # staff only listen here; read to notice the close
                await websocket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            staff.discard(outbox)
            await outbox.close()

    async def customer_ws(websocket: WebSocket) -> None:
        await websocket.accept()
        outbox = _Outbox(websocket)
        try:
            while True:
                frame = orjson.loads(await websocket.receive_text())
                if frame.get("type") != "send":
                    continue
                n = next(seq)
                outbox.offer(
                    orjson.dumps({"type": "ack", "client_id": frame.get("client_id"), "seq": n}).decode()
                )
                relayed = orjson.dumps(
                    {"type": "event", "event": "message.created", "seq": n,
                     "message": {"client_id": frame.get("client_id"), "body": frame.get("body")}}
                ).decode()  # fmt: skip
                for listener in list(staff):
                    listener.offer(relayed)
        except WebSocketDisconnect:
            pass
        finally:
            await outbox.close()

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            WebSocketRoute("/api/v1/ws", staff_ws),
            WebSocketRoute("/s/{shop}/ws", customer_ws),
        ]
    )
