"""Marks a signed-in member as online after each of their console requests (assignment/presence.py):
plain ASGI, and the write (at most once a minute per member) waits until the answer was sent, so
the member never waits for it."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from shangliao.assignment import presence


class PresenceMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
        if scope["type"] != "http":
            return
        # The access rule leaves the resolved caller on request.state (scope["state"]).
        actor = (scope.get("state") or {}).get("actor")
        if actor is not None and actor.staff_id is not None and actor.via == "session":
            await presence.touch(scope["app"].state.runtime.db, actor.shop_id, actor.staff_id)
