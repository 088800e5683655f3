"""What the access tests send to every route: a shop with one of everything (the ids an attacker
would try), and a valid body per route, so a request reaches the access check instead of stopping
at validation. A new route with a new path parameter or request body needs an entry here; the
access tests name what is missing."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from shangliao.notifications.service import notify
from shangliao.web.routes import RouteInfo, iter_routes
from tests.support.catalog import make_product
from tests.support.customers import make_customer
from tests.support.orders import ADDRESS, make_order
from tests.support.team import make_member

SHIP = {"carrier_code": "SF", "tracking_number": "SF1234567890"}
# A 1×1 photo, for the product photo routes.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
    "0000000c4944415408d763f8cfc0f01f0005fe02fe0dd71d6a0000000049454e44ae426082"
)

# A valid body per route, so the request reaches the access check instead of stopping at validation.
SAMPLE_BODIES: dict[tuple[str, str], dict] = {
    ("POST", "/api/v1/orders/{order_id}/ship"): SHIP,
    ("POST", "/api/v1/orders/{order_id}/parcels"): SHIP,
    ("POST", "/api/v1/customers/{customer_id}/merge"): {"other_id": 1},
    ("POST", "/api/v1/addresses/parse"): {"text": "张三 13812345678 浙江省杭州市西湖区文三路100号"},
    ("POST", "/api/v1/orders/{order_id}/cancel"): {"reason": "duplicate"},
    ("PUT", "/api/v1/orders/{order_id}/address"): {"address": ADDRESS},
    ("PUT", "/api/v1/orders/{order_id}/items"): {"items": [{"variant_id": 1, "quantity": 1}]},
    ("PATCH", "/api/v1/orders/{order_id}/price"): {"discount": 1},
    ("POST", "/api/v1/orders/{order_id}/payments"): {"method": "cash", "amount": 1},
    ("POST", "/api/v1/orders/{order_id}/refunds"): {"method": "cash", "amount": 1},
    ("POST", "/api/v1/orders/{order_id}/payment-proofs/{proof_id}/record"): {"method": "cash", "amount": 1},
    ("POST", "/api/v1/orders/{order_id}/payment-proofs/{proof_id}/dismiss"): {"reason": "x"},
    ("PUT", "/api/v1/orders/{order_id}/assignee"): {"assignee_id": None},
    ("POST", "/api/v1/orders/{order_id}/tags"): {"add": ["x"]},
    ("POST", "/api/v1/orders/{order_id}/notes"): {"body": "x"},
    ("POST", "/api/v1/orders/{order_id}/invoice"): {
        "title_type": "personal",
        "title": "张三",
        "email": "a@example.com",
    },
    ("POST", "/api/v1/orders/{order_id}/invoice/issue"): {"invoice_number": "1"},
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
    ("PUT", "/api/v1/team/members/{staff_id}/role"): {"role": "agent"},
    ("PUT", "/api/v1/team/members/{staff_id}/password"): {"password": "another long password"},
    ("PUT", "/api/v1/team/roles/{role_id}"): {"name": "x", "permissions": []},
    ("POST", "/api/v1/team/roles"): {"name": "x", "permissions": []},
    ("POST", "/api/v1/team/invitations"): {"role": "agent"},
    ("POST", "/api/v1/customers/{customer_id}/erase"): {"confirm": "删除", "reason": "customer_request"},
    ("POST", "/api/v1/team/members"): {
        "username": "access_member",
        "password": "long enough password",
        "role": "agent",
    },
    ("POST", "/api/v1/auth/tokens"): {"name": "x"},
    ("PATCH", "/api/v1/shop"): {"name": "测试小店"},
    ("POST", "/api/v1/orders"): {"items": [{"variant_id": 1, "quantity": 1}]},
    ("POST", "/api/v1/orders/search"): {},
    ("POST", "/api/v1/customers"): {"name": "x"},
    ("POST", "/api/v1/customers/search"): {},
    ("POST", "/api/v1/products"): {"name": "x", "variants": [{"sku": "ACCESS-2", "price": 1}]},
    ("POST", "/api/v1/reply-templates"): {"shortcode": "access", "title": "x", "body": "x"},
    ("POST", "/api/v1/shipping-templates"): {"name": "access"},
    ("PUT", "/api/v1/shipping-templates/{shipping_template_id}"): {"name": "access put"},
    ("POST", "/api/v1/conversations/assign"): {"conversation_ids": [1], "assignee_id": None},
    ("PUT", "/api/v1/assignment/settings"): {},
    ("PUT", "/api/v1/workflow"): {},
    ("PUT", "/api/v1/order-tags"): {"items": []},
    ("POST", "/api/v1/automation/rules"): {
        "name": "x",
        "trigger": "order_paid",
        "actions": [{"kind": "tag", "tag": "a"}],
    },
    ("PUT", "/api/v1/automation/rules/{rule_id}"): {
        "name": "x",
        "trigger": "order_paid",
        "actions": [{"kind": "tag", "tag": "a"}],
    },
    ("PATCH", "/api/v1/automation/rules/{rule_id}"): {"enabled": False},
    ("POST", "/api/v1/automation/rules/preview"): {
        "name": "x",
        "trigger": "order_paid",
        "actions": [{"kind": "tag", "tag": "a"}],
    },
    ("POST", "/api/v1/exports/orders"): {"format": "csv"},
    ("POST", "/api/v1/quote-sheets/{upload}"): {"customer_id": 1},
    ("POST", "/api/v1/documents/packing-slips"): {"order_ids": [1]},
    ("POST", "/api/v1/webhooks"): {"url": "https://hooks.example.com/a", "topics": ["order"]},
    ("PUT", "/api/v1/webhooks/{webhook_id}"): {"url": "https://hooks.example.com/b", "topics": ["order"]},
    ("PUT", "/api/v1/notifications/preferences"): {},
    ("PUT", "/api/v1/payment-methods/{kind}"): {"enabled": False},
    ("POST", "/api/v1/aftersales/{aftersale_id}/refuse"): {"message": "x"},
    ("POST", "/api/v1/aftersales/{aftersale_id}/approve"): {},
    ("POST", "/api/v1/aftersales/{aftersale_id}/arrived"): {"lines": [{"line_id": 1, "restock": True}]},
    ("POST", "/api/v1/aftersales/{aftersale_id}/refund"): {"method": "cash", "amount": 1},
    ("POST", "/api/v1/aftersales/{aftersale_id}/ship"): SHIP,
    ("POST", "/api/v1/aftersales/{aftersale_id}/link_refund"): {"refund_id": 1},
    ("POST", "/api/v1/aftersales/{aftersale_id}/close"): {"message": "已线下处理"},
}

# Console forms, for the same reason.
SAMPLE_FORMS: dict[tuple[str, str], dict] = {
    ("POST", "/orders/{order_id}/aftersales/{aftersale_id}/refund"): {"method": "cash", "amount": "0.01"},
    ("POST", "/orders/{order_id}/aftersales/{aftersale_id}/refuse"): {"message": "x"},
    ("POST", "/orders/{order_id}/aftersales/{aftersale_id}/ship"): SHIP,
    ("POST", "/orders/{order_id}/aftersales/{aftersale_id}/link_refund"): {"refund_id": "1"},
    ("POST", "/orders/{order_id}/aftersales/{aftersale_id}/close"): {"message": "已线下处理"},
    ("POST", "/orders/{order_id}/do/{action}"): {"version": "1"},
    ("POST", "/orders/{order_id}/parcels"): {"version": "1", **SHIP},
    ("POST", "/orders/{order_id}/notes"): {"body": "x"},
    ("POST", "/orders/packing-slips"): {"ids": "1"},
    ("POST", "/settings/shipping"): {"name": "access form", "first_units": "1", "further_units": "1"},
    ("POST", "/settings/shipping/{shipping_template_id}"): {"name": "access edit"},
    ("POST", "/orders/{order_id}/invoice"): {
        "title_type": "personal",
        "title": "张三",
        "email": "a@example.com",
    },
    ("POST", "/orders/{order_id}/invoice/issue"): {"invoice_number": "1"},
    ("POST", "/orders/{order_id}/money/payments"): {"method": "cash", "amount": "0.01"},
    ("POST", "/orders/{order_id}/money/refunds"): {"method": "cash", "amount": "0.01"},
    ("POST", "/orders/{order_id}/money/proofs/{proof_id}/record"): {"method": "cash", "amount": "0.01"},
    ("POST", "/orders/{order_id}/money/proofs/{proof_id}/dismiss"): {"reason": "x"},
    ("POST", "/orders/{order_id}/tags"): {"add": "x"},
    ("POST", "/orders/{order_id}/edit/address"): {
        "receiver": "张三",
        "phone": "13812345678",
        "province_code": "330000",
        "city_code": "330100",
        "district_code": "330106",
        "detail": "文三路100号",
    },
    ("POST", "/team/members"): {
        "username": "access_member_c",
        "password": "long enough password",
        "role": "agent",
    },
    ("POST", "/team/members/{staff_id}/password"): {"password": "another long password"},
    ("POST", "/team/members/{staff_id}/role"): {"role": "agent"},
    ("POST", "/team/roles"): {"name": "x"},
    ("POST", "/team/roles/{role_id}"): {"name": "x"},
    ("POST", "/team/invitations"): {"role": "agent"},
}

# Routes taking the action in their body (``staff_acting``): what each action needs besides its name.
BATCH_PARAMS: dict[str, dict] = {
    "cancel": {"reason": "duplicate"},
    "ship": SHIP,
    "assign": {"assignee_id": None},
    "tag": {"add": ["x"]},
}


def action_body(template: str, action: str, ids: dict[str, Any]) -> dict:
    """A body naming ``action`` for one of the victim's orders (the API's JSON or the console's form)."""
    if template.startswith("/api/"):
        return {"order_ids": [ids["order_id"]], "action": action, "params": BATCH_PARAMS.get(action, {})}
    return {
        "action": action,
        "ids": str(ids["order_id"]),
        "reason": "duplicate",
        "add_tag": "x",
        "assignee_id": "",
    }


# A valid query string for the routes that need one.
SAMPLE_QUERIES: dict[tuple[str, str], dict] = {
    ("GET", "/api/v1/stats/csv"): {"chart": "trend"},
}


def send(client: TestClient, method: str, template: str, path: str, body: dict | None = None):
    """``method path`` with the route's sample body (``body`` instead, when given) and query."""
    if template.startswith("/api/"):
        return client.request(
            method,
            path,
            json=body if body is not None else SAMPLE_BODIES.get((method, template)),
            params=SAMPLE_QUERIES.get((method, template)),
        )
    form = body if body is not None else SAMPLE_FORMS.get((method, template))
    return client.request(method, path, data=form, follow_redirects=False)


def http_routes(app) -> list[RouteInfo]:
    """Every route of the app but the implicit HEADs and the sockets (tested on their own)."""
    return [r for r in iter_routes(app) if r.methods not in ({"HEAD"}, {"WEBSOCKET"})]


def socket_routes(app) -> list[RouteInfo]:
    return [r for r in iter_routes(app) if r.methods == {"WEBSOCKET"}]


def path_params(template: str) -> list[str]:
    return re.findall(r"\{([^}]+)\}", template)


def fill(template: str, ids: dict[str, Any]) -> str:
    """The route's path with the victim's ids; fails naming the parameter that has no sample yet."""
    missing = [p for p in path_params(template) if p not in ids]
    assert not missing, f"add a sample id for {missing} ({template}) to tests/support/access.py make_victim"
    return template.format(**ids)


def make_victim(runtime, shop) -> dict[str, Any]:
    """A shop with one of everything, and the ids an attacker would try."""
    product = make_product(runtime, shop, options=["颜色"])
    customer_id, address_id = make_customer(runtime, shop)
    order = make_order(shop, [(product.variant_id, 1)])
    token = shop.api.post("/api/v1/auth/tokens", json={"name": "victim"}).json()
    phone_id = shop.api.get(f"/api/v1/customers/{customer_id}").json()["phones"][0]["id"]
    conversation = shop.api.post(f"/api/v1/customers/{customer_id}/conversation").json()
    message = shop.api.post(f"/api/v1/conversations/{conversation['id']}/messages", json={"body": "x"}).json()
    # A member (and their role) the team routes may change or deactivate, never the caller.
    bystander = make_member(runtime, shop, permissions=["orders.read"])
    invitation = shop.api.post("/api/v1/team/invitations", json={"role": "agent"})
    assert invitation.status_code == 201, invitation.text
    with runtime.db.write() as session:  # one of the owner's notifications
        (notification_id,) = notify(session, shop.id, [shop.owner_id], "order.assigned", "order", order["id"])
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
        "staff_id": bystander.staff_id,
        "role_id": bystander.role_id,
        "invitation_id": invitation.json()["id"],
        "notification_id": notification_id,
        "proof_id": waiting_payment_proof(runtime, shop, order["id"], conversation["id"]),
        "parcel_id": shipped_parcel(shop, product.variant_id),
        "aftersale_id": requested_aftersale(runtime, shop, order["id"]),
        "method": "wechat",  # a native QR's provider (storefront/pay_api.py)
        "shipping_template_id": shop.api.post(
            "/api/v1/shipping-templates", json={"name": "victim", "first_fee": 800}
        ).json()["id"],
        "preset": "shipped_tracking",  # automation/presets.py
        "rule_id": shop.api.post(
            "/api/v1/automation/rules",
            json={"name": "victim", "trigger": "order_paid", "actions": [{"kind": "tag", "tag": "v"}]},
        ).json()["id"],
        **webhook_with_delivery(runtime, shop),
        "export_id": shop.api.post("/api/v1/exports/orders", json={}).json()["id"],
        "upload": shop.api.post(
            "/api/v1/shipping-sheets/preview",
            files={"file": ("s.csv", "订单编号,快递公司,物流单号\r\n1,顺丰,SF1234567890\r\n")},
        ).json()["upload"],
    }


def webhook_with_delivery(runtime, shop) -> dict[str, int]:
    """A webhook of the victim's and one delivery to it (written directly: saving one through the
    API resolves its host, and tests have no outside DNS)."""
    from shangliao.webhooks.models import SECRET_CONTEXT, WebhookDelivery, WebhookSubscription

    with runtime.db.write() as session:
        sub = WebhookSubscription(
            shop_id=shop.id, url="https://hooks.example.com/victim", topics=["order"],
            secret_enc=runtime.keyring.encrypt(b"whsec_victim", SECRET_CONTEXT),
        )  # fmt: skip
        session.add(sub)
        session.flush()
        delivery = WebhookDelivery(
            shop_id=shop.id, subscription_id=sub.id, event_id="evt_ping_victim", event_type="ping",
            payload={"id": "evt_ping_victim", "type": "ping"}, status="dead",
        )  # fmt: skip
        session.add(delivery)
        session.flush()
        return {"webhook_id": sub.id, "delivery_id": delivery.id}


def requested_aftersale(runtime, shop, order_id: int) -> int:
    """An after-sales request on the victim's order (written directly: only a customer asks)."""
    from shangliao.aftersales.models import AfterSale, AfterSaleLine
    from shangliao.orders.models import OrderItem

    with runtime.db.write() as session:
        item = session.query(OrderItem).filter(OrderItem.order_id == order_id).first()
        row = AfterSale(shop_id=shop.id, order_id=order_id, number="VICTIM-A01", kind="refund_only")
        row.status, row.reason = "requested", "unwanted"
        row.lines = [AfterSaleLine(shop_id=shop.id, order_item_id=item.id, quantity=1)]
        session.add(row)
        session.flush()
        return row.id


def shipped_parcel(shop, variant_id: int) -> int:
    """A parcel of a second order of the victim's, shipped (its first order stays pending)."""
    order = make_order(shop, [(variant_id, 1)])
    shop.api.post(f"/api/v1/orders/{order['id']}/confirm")
    shipped = shop.api.post(f"/api/v1/orders/{order['id']}/parcels", json=SHIP)
    assert shipped.status_code == 201, shipped.text
    return shipped.json()["parcels"][0]["id"]


def waiting_payment_proof(runtime, shop, order_id: int, conversation_id: int) -> int:
    """A payment proof waiting on the victim's order (written directly: only a customer sends one)."""
    from shangliao.payments.models import PaymentProof

    upload = shop.api.post(
        f"/api/v1/conversations/{conversation_id}/attachments", files={"file": ("p.png", PNG)}
    )
    assert upload.status_code == 201, upload.text
    with runtime.db.write() as session:
        proof = PaymentProof(
            shop_id=shop.id, order_id=order_id, attachment_id=upload.json()["data"]["attachment_id"]
        )
        session.add(proof)
        session.flush()
        return proof.id
