"""The address routes of the API: region picker and smart paste, behind staff access."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shangliao.addresses.api import MAX_PASTE_LENGTH, router

PREFIX = "/api/v1"


@pytest.fixture
def addresses_app(app) -> FastAPI:
    return app


def client_for(app: FastAPI, token: str | None) -> TestClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return TestClient(app, headers=headers, raise_server_exceptions=False)


@pytest.fixture
def api(addresses_app, shop) -> TestClient:
    return client_for(addresses_app, shop.token)


def error(r, status: int) -> dict:
    assert r.status_code == status, r.text
    return r.json()["error"]


def test_regions_without_parent_lists_the_provinces(api):
    r = api.get(f"{PREFIX}/regions")
    assert r.status_code == 200, r.text
    provinces = r.json()
    assert len(provinces) == 31
    assert provinces[0] == {"code": "110000", "name": "北京市", "level": 1, "leaf": False}
    assert r.headers["cache-control"].startswith("private")


def test_regions_walk_a_municipality_down_to_its_districts(api):
    [city] = api.get(f"{PREFIX}/regions", params={"parent": "110000"}).json()
    assert city == {"code": "110100", "name": "北京市", "level": 2, "leaf": False}
    districts = api.get(f"{PREFIX}/regions", params={"parent": city["code"]}).json()
    assert {"code": "110105", "name": "朝阳区", "level": 3, "leaf": True} in districts


def test_a_city_without_districts_is_a_leaf_with_no_children(api):
    cities = api.get(f"{PREFIX}/regions", params={"parent": "440000"}).json()
    assert {"code": "441900", "name": "东莞市", "level": 2, "leaf": True} in cities
    assert api.get(f"{PREFIX}/regions", params={"parent": "441900"}).json() == []


def test_an_unknown_parent_is_404_and_a_malformed_one_422(api):
    assert error(api.get(f"{PREFIX}/regions", params={"parent": "999999"}), 404) == {
        "code": "region.not_found",
        "message": "行政区划不存在。",
        "details": {},
    }
    assert error(api.get(f"{PREFIX}/regions", params={"parent": "33"}), 422)["code"] == "request.invalid"


def test_parse_returns_every_field(api):
    r = api.post(
        f"{PREFIX}/addresses/parse", json={"text": "张三 13812345678 浙江省杭州市西湖区文三路 100 号"}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "receiver": "张三",
        "phone": "13812345678",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "detail": "文三路100号",
        "province_code": "330000",
        "city_code": "330100",
        "district_code": "330106",
        "phone_kind": "mobile",
        "other_phones": [],
        "note": "",
        "missing": [],
    }


@pytest.mark.parametrize(
    "body",
    [
        {"text": "x" * (MAX_PASTE_LENGTH + 1)},
        {"text": ""},
        {"text": "   "},
        {"text": "张三\x00"},
        {"text": "张三", "shop_id": 1},
        {},
    ],
)
def test_parse_refuses_bad_bodies_with_422(api, body):
    assert error(api.post(f"{PREFIX}/addresses/parse", json=body), 422)["code"] == "request.invalid"


def test_parse_at_the_length_limit_is_accepted(api):
    r = api.post(f"{PREFIX}/addresses/parse", json={"text": "浙江省杭州市" + "号" * (MAX_PASTE_LENGTH - 6)})
    assert r.status_code == 200, r.text
    assert r.json()["city"] == "杭州市"


def test_both_routes_refuse_anonymous_callers(addresses_app):
    anonymous = client_for(addresses_app, None)
    assert error(anonymous.get(f"{PREFIX}/regions"), 401)["code"] == "auth.required"
    assert (
        error(anonymous.post(f"{PREFIX}/addresses/parse", json={"text": "张三"}), 401)["code"]
        == "auth.required"
    )


def test_a_token_without_orders_read_is_forbidden(addresses_app, shop):
    # given a token scoped to catalog reading only
    r = shop.api.post("/api/v1/auth/tokens", json={"name": "catalog only", "scopes": ["catalog.read"]})
    assert r.status_code == 201, r.text
    narrow = client_for(addresses_app, r.json()["token"])
    # when it asks for regions or a parse, then it is refused
    assert error(narrow.get(f"{PREFIX}/regions"), 403)["code"] == "auth.forbidden"
    assert (
        error(narrow.post(f"{PREFIX}/addresses/parse", json={"text": "张三"}), 403)["code"]
        == "auth.forbidden"
    )


def test_every_route_declares_staff_orders_read():
    declared = {
        (route.path, dep.call.access.permission)
        for route in router.routes
        for dep in route.dependant.dependencies
        if hasattr(dep.call, "access")
    }
    assert declared == {("/regions", "orders.read"), ("/addresses/parse", "orders.read")}
