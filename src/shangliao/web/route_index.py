"""Spare every request FastAPI's walks over routes it cannot take.

FastAPI (0.165) finds a request's route by asking each router in turn, in order, and a router
answers by trying every one of its routes' patterns, each router level twice (once to choose the
branch, again inside it). Before a route of its own, a console page had tried every API route:
~0.7 ms of routing per page on this machine, more than most pages' SQL. And each router level a
request passes first re-counts the routes of every router under it ("has anything been added?"):
~400 routes, several times per request (docs/benchmarks.md, 工作台's overview).

Our routes are all added by ``create_app``, which calls ``index_routes`` last:

- each router's count is pinned to what it is then;
- each router included in the app answers "no" at once to a path that starts with none of its
  routes' fixed beginnings (``/api/v1/orders/`` of ``/api/v1/orders/{order_id}``): such a path
  cannot match any of its patterns, which all begin with that text. Routers with a route whose
  path starts with a parameter, or holding something other than plain routes, are asked as before.

Both hold only while no router anywhere has changed since: every change a router hears of is
counted (FastAPI tells its ``_mark_routes_changed`` of each), and once the count moves, pins and
guards step aside and FastAPI routes as it always did. That covers a test adding a route to a built
app, and routers shared by several apps in one process (the domains' routers are module-level). A
server builds one app and never changes it. Without FastAPI's private hooks this does nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIRouter, APIWebSocketRoute
from starlette._utils import get_route_path
from starlette.routing import Match

_VERSION = "_get_routes_version"
_CHANGED = "_mark_routes_changed"


class _Changes:
    count = 0  # changes any router has heard of since start-up


def _counting_changes() -> bool:
    """Count every router's changes (once per process); False when FastAPI has no such hook."""
    mark = getattr(APIRouter, _CHANGED, None)
    if mark is None or not hasattr(APIRouter, _VERSION):
        return False
    if not getattr(mark, "counted", False):

        def mark_routes_changed(self: APIRouter) -> None:
            _Changes.count += 1
            mark(self)

        mark_routes_changed.counted = True  # type: ignore[attr-defined]
        setattr(APIRouter, _CHANGED, mark_routes_changed)
    return True


def index_routes(app: FastAPI) -> None:
    if not _counting_changes():
        return
    at = _Changes.count
    app.state.routes_indexed_at = at
    for router in _routers(app.router, set()):
        if isinstance(router, APIRouter):
            setattr(router, _VERSION, _pinned(router, getattr(router, _VERSION)(), at))
    for entry in app.router.routes:
        starts = _fixed_starts(entry)
        if starts:
            entry.matches = _guarded(entry.matches, starts, at)


def indexed(app: FastAPI) -> bool:
    """Whether the app's index still holds (no router has changed since it was made)."""
    return getattr(app.state, "routes_indexed_at", None) == _Changes.count


def _pinned(router: APIRouter, version: int, at: int) -> Any:
    walk = getattr(type(router), _VERSION)

    def routes_version(seen: set[int] | None = None) -> int:
        return version if _Changes.count == at else walk(router, seen)

    return routes_version


def _guarded(matches: Any, starts: tuple[str, ...], at: int) -> Any:
    def guarded_matches(scope: Any) -> tuple[Match, Any]:
        if _Changes.count == at and not get_route_path(scope).startswith(starts):
            return Match.NONE, {}
        return matches(scope)

    return guarded_matches


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
