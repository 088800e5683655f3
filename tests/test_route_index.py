"""web/route_index.py: the app's routers are skipped for paths none of their routes can match,
and every request still reaches the route it reached without the index, also once routers change."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Match

import shangliao.app as app_module
from shangliao.stats import api as stats_api
from shangliao.web.route_index import index_routes, indexed
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


def _sample(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "7", path)


@pytest.fixture
def apps(runtime):
    with mock.patch.object(app_module, "index_routes", lambda app: None):
        plain = app_module.create_app(runtime=runtime)
    fast = app_module.create_app(runtime=runtime)  # last: no router changes after its index
    assert indexed(fast)
    return fast, plain


def test_every_route_is_reached_through_the_same_router_as_without_the_index(apps):
    fast, plain = apps
    requests = []
    for route in iter_routes(plain):
        path = _sample(route.path)
        for method in route.methods:
            requests += [(method, path), (method, path + "/"), ("DELETE", path), (method, path + "x")]
    requests += [("GET", p) for p in ("/", "/nothing", "/api/v1/nothing", "/s/", "/static/app.css")]
    assert len(requests) > 1000
    differ = [r for r in requests if _chosen(fast, *r) != _chosen(plain, *r)]
    assert differ == []
    unreached = [
        r.path for r in iter_routes(plain) if _chosen(fast, min(r.methods), _sample(r.path))[0] is None
    ]
    assert unreached == []
    assert indexed(fast)  # the comparison ran on the index, not on FastAPI's own walk


def test_a_router_is_not_asked_for_paths_its_routes_cannot_begin_with(apps, monkeypatch):
    fast, _ = apps
    asked = []
    ask = stats_api.router.matches
    monkeypatch.setattr(stats_api.router, "matches", lambda scope: asked.append(scope["path"]) or ask(scope))
    assert _chosen(fast, "GET", "/dashboard")[0] is not None
    assert _chosen(fast, "GET", "/api/v1/orders/7")[0] is not None
    assert asked == []  # a console page and another domain's route never try the stats routes
    assert _chosen(fast, "GET", "/api/v1/stats/overview")[0] is not None
    assert asked == ["/api/v1/stats/overview"]


def test_a_route_added_to_an_indexed_router_is_reached_by_every_app_that_includes_it():
    shared = APIRouter(prefix="/shared")  # as the domains' module-level routers are

    @shared.get("/early")
    def early() -> dict:
        return {"early": True}

    built = []
    for _ in range(2):
        app = FastAPI()
        app.include_router(shared)
        index_routes(app)
        built.append(app)
    assert indexed(built[1]) and not indexed(built[0])  # the second app's routers changed the count

    @shared.get("/late")
    def late() -> dict:
        return {"late": True}

    for app in built:
        assert not indexed(app)
        with TestClient(app) as client:
            assert client.get("/shared/late").json() == {"late": True}
            assert client.get("/shared/early").json() == {"early": True}


def test_a_route_added_to_the_built_app_is_reached(runtime):
    app = app_module.create_app(runtime=runtime)
    assert indexed(app)
    app.add_api_route("/api/v1/stats/late", lambda: {"late": True}, methods=["GET"])
    assert not indexed(app)
    with TestClient(app) as client:
        assert client.get("/api/v1/stats/late").json() == {"late": True}
        assert client.get("/api/v1/stats/overview").status_code == 401  # the old routes too


def test_without_fastapis_private_hooks_routing_is_left_alone(runtime, monkeypatch):
    with mock.patch.object(app_module, "index_routes", lambda app: None):
        app = app_module.create_app(runtime=runtime)
    monkeypatch.delattr(APIRouter, "_mark_routes_changed")  # another FastAPI: no way to hear of changes
    index_routes(app)
    assert not indexed(app)
    assert not any("matches" in vars(e) or "_get_routes_version" in vars(e) for e in app.router.routes)
    assert _chosen(app, "GET", "/api/v1/stats/overview")[0] is not None
