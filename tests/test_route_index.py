"""web/route_index.py: the app's routers are skipped for paths none of their routes can match,
and every request still reaches the route it reached without the index."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from starlette.routing import Match

import shangliao.app as app_module
from shangliao.web.route_index import index_routes
from shangliao.web.routes import iter_routes


def _scope(method: str, path: str) -> dict:
    kind = "websocket" if method == "WEBSOCKET" else "http"
    return {"type": kind, "method": method, "path": path, "root_path": "", "query_string": b"", "headers": []}


def _chosen(app, method: str, path: str) -> tuple[int | None, int | None]:
    """Which of the app's top-level entries takes the request (FULL), and which would answer
    "wrong method" (the first PARTIAL): what the index changes, if anything."""
    full = partial = None
    for i, entry in enumerate(app.router.routes):
        match, _ = entry.matches(_scope(method, path))
        if match == Match.FULL:
            full = i
            break
        if match == Match.PARTIAL and partial is None:
            partial = i
    return full, partial


@pytest.fixture(scope="module")
def apps(runtime):
    indexed = app_module.create_app(runtime=runtime)
    with mock.patch.object(app_module, "index_routes", lambda app: None):
        plain = app_module.create_app(runtime=runtime)
    return indexed, plain


def test_every_route_is_reached_through_the_same_router_as_without_the_index(apps):
    indexed, plain = apps
    requests = []
    for route in iter_routes(plain):
        path = re.sub(r"\{[^}]+\}", "7", route.path)
        for method in route.methods:
            requests += [(method, path), (method, path + "/"), ("DELETE", path), (method, path + "x")]
    requests += [("GET", p) for p in ("/", "/nothing", "/api/v1/nothing", "/s/", "/static/app.css")]
    assert len(requests) > 1000
    differ = [r for r in requests if _chosen(indexed, *r) != _chosen(plain, *r)]
    assert differ == []
    unreached = [
        r
        for r in iter_routes(plain)
        if _chosen(indexed, min(r.methods), re.sub(r"\{[^}]+\}", "7", r.path))[0] is None
    ]
    assert unreached == []


def test_a_router_is_skipped_for_paths_its_routes_cannot_begin_with(apps):
    indexed, _ = apps
    guarded = [entry for entry in indexed.router.routes if "matches" in vars(entry)]
    # every router but the console's home ("/" could begin anything) answers at once
    assert len(guarded) >= len(indexed.router.routes) - 4
    api = next(e for e in guarded if _chosen_by(e, "/api/v1/stats/overview"))
    assert api.matches(_scope("GET", "/dashboard")) == (Match.NONE, {})
    assert api.matches(_scope("GET", "/api/v1/statsx"))[0] == Match.NONE


def _chosen_by(entry, path: str) -> bool:
    return entry.matches(_scope("GET", path))[0] == Match.FULL


def test_routes_added_after_the_app_is_built_are_reached(runtime):
    app = app_module.create_app(runtime=runtime)
    assert any("matches" in vars(e) for e in app.router.routes)
    late = APIRouter(prefix="/api/v1/stats")

    @late.get("/late")
    def late_route() -> dict:
        return {"late": True}

    app.include_router(late)
    # a change anywhere puts FastAPI's own routing back in charge, guards and counts unpinned
    assert not any("matches" in vars(e) for e in app.router.routes)
    with TestClient(app) as client:
        assert client.get("/api/v1/stats/late").json() == {"late": True}
        assert client.get("/api/v1/stats/overview").status_code == 401  # the old routes too


def test_without_fastapis_private_hooks_routing_is_left_alone(runtime, monkeypatch):
    with mock.patch.object(app_module, "index_routes", lambda app: None):
        app = app_module.create_app(runtime=runtime)
    monkeypatch.delattr(APIRouter, "_mark_routes_changed")  # another FastAPI: no way to hear of changes
    index_routes(app)
    assert not any("matches" in vars(e) or "_get_routes_version" in vars(e) for e in app.router.routes)
    assert _chosen(app, "GET", "/api/v1/stats/overview")[0] is not None
