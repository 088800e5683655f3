"""Shared by the shop-page phone claim tests: 张三's number and first phone, a product, the fake SMS
outbox, and the steps a device and staff take."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from shangliao.chat.models import Visitor
from shangliao.customers.models import Customer
from tests.support.catalog import make_product
from tests.support.chat import guest_client
from tests.support.orders import ADDRESS, act, make_order

PHONE = "13812345678"


@pytest.fixture(name="tee")
def tee_fixture(runtime, shop):
    product = make_product(runtime, shop, name="纯棉T恤", stock=20, price=5900)
    return product, shop.api.get(f"/api/v1/products/{product.product_id}").json()["share_token"]


@pytest.fixture(name="owner")
def owner_fixture(app, shop):
    """张三's own phone: the first to give the shop their number."""
    return guest_client(app, shop, "张三", PHONE)


def shipped_order(shop, tee, customer_id: int) -> dict:
    placed = make_order(shop, [(tee[0].variant_id, 1)], customer_id=customer_id)
    act(shop, placed, "confirm")
    act(shop, placed, "ship", carrier_code="SF", tracking_number="SF1234567890")
    return placed


def link_order(client, shop, tee) -> dict:
    product, token = tee
    body = {"token": token, "variant_id": product.variant_id, "quantity": 1, "address": ADDRESS}
    r = client.post(f"/s/{shop.slug}/api/orders", json=body)
    assert r.status_code == 201, r.text
    return r.json()["order"]


def my_order_ids(client, shop) -> list[int]:
    r = client.get(f"/s/{shop.slug}/api/orders")
    assert r.status_code == 200, r.text
    return [o["id"] for o in r.json()["items"]]


def staff_history(shop, conversation_id: int) -> list[str]:
    r = shop.api.get(f"/api/v1/conversations/{conversation_id}/messages")
    assert r.status_code == 200, r.text
    return [m["body"] for m in r.json()]


def link(shop, conversation_id: int, **body):
    return shop.api.post(f"/api/v1/conversations/{conversation_id}/link-claimed", json=body or None)


def counts(runtime, shop) -> tuple[int, int]:
    with runtime.db.read() as session:
        customers = session.scalar(select(func.count(Customer.id)).where(Customer.shop_id == shop.id))
        claims = session.scalar(
            select(func.count(Visitor.id)).where(
                Visitor.shop_id == shop.id, Visitor.claimed_phone_hash.is_not(None)
            )
        )
    return customers, claims


@pytest.fixture(name="outbox")
def outbox_fixture(runtime, tmp_path, monkeypatch):
    """The operator configured the local fake gateway: texts land in this file, one JSON a line."""
    path = tmp_path / "sms.jsonl"
    monkeypatch.setattr(runtime.settings, "sms_gateway", f"file:{path}")
    return path


def texts(outbox) -> list[dict]:
    return [json.loads(line) for line in outbox.read_text().splitlines()] if outbox.exists() else []


def ask_code(device, shop):
    return device.post(f"/s/{shop.slug}/api/phone-code")


def send_code(device, shop, code: str):
    return device.post(f"/s/{shop.slug}/api/phone-code/check", json={"code": code})


def texted_code(outbox) -> str:
    return re.search(r"\b(\d{6})\b", texts(outbox)[-1]["text"]).group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"
