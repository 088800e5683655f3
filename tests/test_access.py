"""Rules 5 and 4 of docs/architecture.md, checked on every route of the app, so no route is open by accident.

- every route (sockets included) declares exactly one access rule;
- a staff route refuses an anonymous caller (401; a console page sends them to the login page; a
  socket is closed with 1008 before any frame);
- a member of another shop asking for this shop's rows by id gets 404, never the row.
New routes with new path parameters or request bodies need a sample in tests/support/access.py.
The third axis (data scope, permissions, the role matrix) is tests/test_authz_matrix.py.
"""

from __future__ import annotations

import re

import pytest
from starlette.websockets import WebSocketDisconnect

from shangliao.web.routes import iter_routes
from tests.support.access import fill, http_routes, make_victim, path_params, send, socket_routes


@pytest.fixture
def victim(runtime, shop):
    return make_victim(runtime, shop)


def test_every_route_declares_exactly_one_access_rule(app):
    routes = [r for r in iter_routes(app) if r.methods != {"HEAD"}]
    undeclared = [(r.path, sorted(r.methods), r.rules) for r in routes if len(r.rules) != 1]
    assert undeclared == []
    # the sockets are among them (a FastAPI upgrade once hid them from iter_routes)
    assert {r.path for r in socket_routes(app)} >= {"/api/v1/ws", "/s/{shop}/ws"}


def test_staff_routes_refuse_anonymous_callers(app, anon):
    for route in http_routes(app):
        if route.rules[0].kind != "staff":
            continue
        for method in route.methods:
            path = re.sub(r"\{[^}]+\}", "1", route.path)
            r = send(anon, method, route.path, path)
            if route.path.startswith("/api/"):
                assert r.status_code == 401, (method, route.path, r.status_code, r.text)
                assert r.json()["error"]["code"] == "auth.required"
            else:
                assert r.status_code == 303, (method, route.path, r.status_code, r.text)
                assert r.headers["location"].startswith("/login"), (method, route.path)


def test_sockets_refuse_anonymous_callers(app, anon, shop):
    sockets = socket_routes(app)
    for route in sockets:
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            anon.websocket_connect(fill(route.path, {"shop": shop.slug})),
        ):
            pass
        assert closed.value.code == 1008, route.path
    assert len(sockets) >= 2


# Path parameters that name something every shop has alike (a preset rule's key), not a row.
NAMES_NOT_IDS = {"preset"}


def test_other_shops_get_404_for_every_id_route(app, victim, other_shop):
    checked = 0
    for route in http_routes(app):
        if route.rules[0].kind != "staff" or not set(path_params(route.path)) - NAMES_NOT_IDS:
            continue
        path = fill(route.path, victim)
        for method in route.methods:
            r = send(other_shop.api, method, route.path, path)
            assert r.status_code == 404, (method, route.path, r.status_code, r.text)
            checked += 1
    assert checked >= 10


def test_provider_routes_refuse_unsigned_notifications(app, anon, shop):
    # given every route declared provider() (a payment provider's notification: the signature is
    # the credential), and the owner's token, which is no signature
    routes = [r for r in http_routes(app) if r.rules[0].kind == "provider"]
    wanted = {f"/api/v1/providers/{{shop}}/{k}" for k in ("wechat", "alipay", "gateway")}
    assert {r.path for r in routes} >= wanted
    for route in routes:
        path = fill(route.path, {"shop": shop.slug})
        for client in (anon, shop.api):
            # when a notification arrives unsigned
            r = client.post(path, content=b'{"type": "payment.succeeded"}')
            # then it is refused before anything is applied
            assert r.status_code in (400, 401), (route.path, r.status_code, r.text)
