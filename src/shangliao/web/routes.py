"""Walk every HTTP route of the app with its effective path and dependencies (for the access audit)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute

from shangliao.auth.access import AccessRule


@dataclass(frozen=True)
class RouteInfo:
    path: str
    methods: frozenset[str]
    rules: tuple[AccessRule, ...]
    endpoint: Any
    dependant: Any = None  # its parameters and dependencies (the field-label check walks them)


def _rules(dependant: Any) -> list[AccessRule]:
    found: list[AccessRule] = []
    for dep in dependant.dependencies:
        rule = getattr(dep.call, "access", None)
        if isinstance(rule, AccessRule):
            found.append(rule)
        found.extend(_rules(dep))
    return found


def iter_routes(app: FastAPI) -> Iterator[RouteInfo]:
    for route in app.routes:
        contexts = route.effective_route_contexts() if hasattr(route, "effective_route_contexts") else [route]
        for ctx in contexts:
            if isinstance(getattr(ctx, "original_route", None), APIWebSocketRoute):
                # FastAPI keeps an included socket's path and dependencies on the route it builds
                # for it, not on the context (whose path is ""): without this the access audit
                # never saw the sockets.
                ctx = ctx.starlette_route
            dependant = getattr(ctx, "dependant", None)
            if dependant is None or not isinstance(
                getattr(ctx, "original_route", ctx), APIRoute | APIWebSocketRoute
            ):
                continue
            yield RouteInfo(
                path=ctx.path,
                methods=frozenset(getattr(ctx, "methods", None) or {"WEBSOCKET"}),
                rules=tuple(_rules(dependant)),
                endpoint=ctx.endpoint,
                dependant=dependant,
            )
