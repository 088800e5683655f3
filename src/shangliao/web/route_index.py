"""Spare every request FastAPI's walks over routes it cannot take.

FastAPI (0.165) finds a request's route by asking each router in turn, in order, and a router
answers by trying every one of its routes' patterns, each router level twice (once to choose the
branch, again inside it). Before a route of its own, a console page had tried every API route:
~0.7 ms of routing per page on this machine, more than most pages' SQL. And each router level a
request passes first re-counts the routes of every router under it ("has anything been added?"):
~400 routes, several times per request (docs/benchmarks.md, 工作台's overview).

Our routes are all added by ``create_app``, which calls ``index_routes`` last:

- each router's count is pinned; anything that changes a router afterwards (a test adding a
  route to a built app) unpins them all, and FastAPI sees the change exactly as before;
- each router included in the app answers "no" at once to a path that starts with none of its
  routes' fixed beginnings (``/api/v1/orders/`` of ``/api/v1/orders/{order_id}``): such a path
  cannot match any of its patterns, which all begin with that text. Routers with a route whose
  path starts with a parameter, or holding something other than plain routes, are asked as before.

Without FastAPI's private hooks (another version) this does nothing, and routing works as it did.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette._utils import get_route_path
from starlette.routing import Match

_VERSION = "_get_routes_version"
_CHANGED = "_mark_routes_changed"


def index_routes(app: FastAPI) -> None:
    routers = list(_routers(app.router, set()))
    if not all(hasattr(r, _VERSION) and hasattr(r, _CHANGED) for r in routers):
        return  # a later change could not unpin what is pinned here
    guarded: list[Any] = []

    def unpin() -> None:
        for router in routers:
            vars(router).pop(_VERSION, None)
            vars(router).pop(_CHANGED, None)
        for entry in guarded:
            vars(entry).pop("matches", None)
        guarded.clear()

    for router in routers:
        version = getattr(router, _VERSION)()
        setattr(router, _VERSION, lambda seen=None, version=version: version)
        setattr(router, _CHANGED, lambda router=router: (unpin(), getattr(type(router), _CHANGED)(router)))
    for entry in app.router.routes:
        starts = _fixed_starts(entry)
        if starts:
            entry.matches = _guarded(entry.matches, starts)
            guarded.append(entry)


def _routers(router: Any, seen: set[int]) -> Iterator[Any]:
    if id(router) in seen:
        return
    seen.add(id(router))
    yield router
    for route in router.routes:
        included = getattr(route, "original_router", None)  # FastAPI's record of an include_router
        if included is not None:
            yield from _routers(included, seen)


def _fixed_starts(entry: Any) -> tuple[str, ...] | None:
    """The text every path ``entry`` can match begins with, one per route (the shortest kept);
    ``None`` when that cannot be told (not an included router, an odd route, a leading parameter)."""
    contexts = getattr(entry, "effective_route_contexts", None)
    if contexts is None:
        return None
    starts: set[str] = set()
    for ctx in contexts():
        route = getattr(ctx, "original_route", None)
        if isinstance(route, APIWebSocketRoute):
            path = getattr(ctx.starlette_route, "path", None)  # where FastAPI keeps a socket's path
        elif isinstance(route, APIRoute):
            path = ctx.path
        else:
            return None
        fixed = path.split("{", 1)[0] if isinstance(path, str) else ""
        if len(fixed) < 2:  # "" or "/": any path may match
            return None
        starts.add(fixed)
    return tuple(s for s in starts if not any(s != t and s.startswith(t) for t in starts)) or None


def _guarded(matches: Any, starts: tuple[str, ...]) -> Any:
    def guarded_matches(scope: Any) -> tuple[Match, Any]:
        if not get_route_path(scope).startswith(starts):
            return Match.NONE, {}
        return matches(scope)

    return guarded_matches
