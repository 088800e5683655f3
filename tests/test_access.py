"""Rules 5 and 4 of docs/architecture.md, checked on every route of the app, so no route is open by accident.

- every route declares exactly one access rule;
- a staff route refuses an anonymous caller (401; a console page sends them to the login page);
- a member of another shop asking for this shop's rows by id gets 404, never the row.
New routes with new path parameters or request bodies must be added to the tables below.
"""

from __future__ import annotations

import re

import pytest

from shangliao.web.routes import iter_routes
from tests.support.catalog import make_product
from tests.support.customers import make_customer
from tests.support.orders import ADDRESS, make_order

SHIP = {"carrier_code": "SF", "tracking_number": "SF1234567890"}
# A 1×1 photo, for the product photo routes.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
    "0000000c4944415408d763f8cfc0f01f0005fe02fe0dd71d6a0000000049454e44ae426082"
)

# A valid body per route, so the request reaches the access check instead of stopping at validation.
SAMPLE_BODIES: dict[tuple[str, str], dict] = {
    ("POST", "/api/v1/orders/{order_id}/ship"): SHIP,
    ("POST", "/api/v1/customers/{customer_id}/merge"): {"other_id": 1},
    ("POST", "/api/v1/addresses/parse"): {"text": "张三 13812345678 浙江省杭州市西湖区文三路100号"},
    ("POST", "/api/v1/orders/{order_id}/cancel"): {"reason": "duplicate"},
    ("PUT", "/api/v1/orders/{order_id}/address"): {"address": ADDRESS},
    ("PUT", "/api/v1/orders/{order_id}/items"): {"items": [{"variant_id": 1, "quantity": 1}]},
    ("PATCH", "/api/v1/orders/{order_id}/price"): {"discount": 1},
    ("POST", "/api/v1/orders/{order_id}/payments"): {"method": "cash", "amount": 1},
    ("PUT", "/api/v1/orders/{order_id}/assignee"): {"assignee_id": None},
    ("POST", "/api/v1/orders/{order_id}/tags"): {"add": ["x"]},
    ("POST", "/api/v1/orders/{order_id}/notes"): {"body": "x"},
    ("PATCH", "/api/v1/products/{product_id}"): {"name": "x"},
    ("POST", "/api/v1/products/{product_id}/variants"): {
        "sku": "ACCESS-1",
        "spec": {"颜色": "x"},
        "price": 1,
    },
    ("PATCH", "/api/v1/variants/{variant_id}"): {"price": 1},
    ("PUT", "/api/v1/products/{product_id}/images/order"): {"image_ids": [1]},
    ("PATCH", "/api/v1/product-images/{image_id}"): {"variant_id": None},
    ("POST", "/api/v1/variants/{variant_id}/stock-adjustments"): {"delta": 1, "reason": "x"},
    ("PATCH", "/api/v1/customers/{customer_id}"): {"name": "x"},
    ("POST", "/api/v1/customers/{customer_id}/phones"): {"phone": "13900001111"},
    ("POST", "/api/v1/customers/{customer_id}/addresses"): ADDRESS,
    ("PUT", "/api/v1/customers/{customer_id}/addresses/{address_id}"): ADDRESS,
    ("POST", "/api/v1/conversations/{conversation_id}/messages"): {"body": "x"},
    ("POST", "/api/v1/conversations/{conversation_id}/read"): {"seq": 1},
    ("PUT", "/api/v1/conversations/{conversation_id}/assignee"): {"assignee_id": None},
    ("POST", "/api/v1/conversations/{conversation_id}/orders"): {"items": [{"variant_id": 1, "quantity": 1}]},
    ("PATCH", "/api/v1/reply-templates/{template_id}"): {"title": "x"},
    ("POST", "/api/v1/conversations/{conversation_id}/reply-preview"): {"body": "x"},
    ("PUT", "/api/v1/conversations/{conversation_id}/status"): {"status": "closed"},
}

# Console forms, for the same reason.
SAMPLE_FORMS: dict[tuple[str, str], dict] = {
    ("POST", "/orders/{order_id}/do/{action}"): {"version": "1"},
    ("POST", "/orders/{order_id}/notes"): {"body": "x"},
    ("POST", "/orders/{order_id}/tags"): {"add": "x"},
    ("POST", "/orders/{order_id}/edit/address"): {
        "receiver": "张三",
        "phone": "13812345678",
        "province_code": "330000",
        "city_code": "330100",
        "district_code": "330106",
        "detail": "文三路100号",
    },
}


def _send(client, method: str, template: str, path: str):
    if template.startswith("/api/"):
        return client.request(method, path, json=SAMPLE_BODIES.get((method, template)))
    return client.request(method, path, data=SAMPLE_FORMS.get((method, template)), follow_redirects=False)


@pytest.fixture
def victim(runtime, shop):
    """A shop with one of everything, and the ids an attacker would try."""
    product = make_product(runtime, shop, options=["颜色"])
    customer_id, address_id = make_customer(runtime, shop)
    order = make_order(shop, [(product.variant_id, 1)])
    token = shop.api.post("/api/v1/auth/tokens", json={"name": "victim"}).json()
    phone_id = shop.api.get(f"/api/v1/customers/{customer_id}").json()["phones"][0]["id"]
    conversation = shop.api.post(f"/api/v1/customers/{customer_id}/conversation").json()
    message = shop.api.post(f"/api/v1/conversations/{conversation['id']}/messages", json={"body": "x"}).json()
    return {
        "order_id": order["id"],
        "product_id": product.product_id,
        "variant_id": product.variant_id,
        "customer_id": customer_id,
        "address_id": address_id,
        "token_id": token["id"],
        "phone_id": phone_id,
        "action": "confirm",
        "conversation_id": conversation["id"],
        "message_id": message["id"],
        "kind": "details",
        "attachment_id": shop.api.post(
            f"/api/v1/conversations/{conversation['id']}/attachments", files={"file": ("a.txt", b"x")}
        ).json()["data"]["attachment_id"],
        "template_id": shop.api.get("/api/v1/reply-templates").json()["items"][0]["id"],
        "image_id": shop.api.post(
            f"/api/v1/products/{product.product_id}/images", files={"file": ("a.png", PNG)}
        ).json()["id"],
    }


def _routes(app):
    return [r for r in iter_routes(app) if r.methods != {"HEAD"}]


def test_every_route_declares_exactly_one_access_rule(app):
    undeclared = [(r.path, sorted(r.methods), r.rules) for r in _routes(app) if len(r.rules) != 1]
    assert undeclared == []


def test_staff_routes_refuse_anonymous_callers(app, anon):
    for route in _routes(app):
        if route.rules[0].kind != "staff":
            continue
        for method in route.methods:
            path = re.sub(r"\{[^}]+\}", "1", route.path)
            r = _send(anon, method, route.path, path)
            if route.path.startswith("/api/"):
                assert r.status_code == 401, (method, route.path, r.status_code, r.text)
                assert r.json()["error"]["code"] == "auth.required"
            else:
                assert r.status_code == 303, (method, route.path, r.status_code, r.text)
                assert r.headers["location"].startswith("/login"), (method, route.path)


def test_other_shops_get_404_for_every_id_route(app, victim, other_shop):
    checked = 0
    for route in _routes(app):
        params = re.findall(r"\{([^}]+)\}", route.path)
        if route.rules[0].kind != "staff" or not params:
            continue
        missing = [p for p in params if p not in victim]
        assert not missing, f"add a sample id for {missing} ({route.path}) to the victim fixture"
        path = route.path.format(**victim)
        for method in route.methods:
            r = _send(other_shop.api, method, route.path, path)
            assert r.status_code == 404, (method, route.path, r.status_code, r.text)
            checked += 1
    assert checked >= 10
