"""Chat factories: a customer's conversation, and a customer writing in it (through the service, as
the shop page would, without a visitor cookie)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from shangliao.chat import service
from shangliao.runtime import Runtime
from tests.support.customers import make_customer
from tests.support.shops import ShopFixture


def open_conversation(runtime: Runtime, shop: ShopFixture, name: str, phone: str) -> dict:
    customer_id, _ = make_customer(runtime, shop, name=name, phone=phone)
    r = shop.api.post(f"/api/v1/customers/{customer_id}/conversation")
    assert r.status_code == 200, r.text
    return r.json()


def customer_says(
    runtime: Runtime,
    shop: ShopFixture,
    conversation: dict,
    text: str,
    client_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> service.Sent:
    with runtime.db.write() as session:
        return service.do_send(
            session,
            runtime.keyring,
            shop.id,
            conversation["id"],
            sender_type="customer",
            sender_id=conversation["customer_id"],
            kind="text",
            body=text,
            client_id=client_id,
            data=data,
        )


def say(shop: ShopFixture, conversation: dict, text: str, **fields) -> dict:
    """The shop sends a message (text, or a card with ``kind`` and its id) through the API."""
    r = shop.api.post(f"/api/v1/conversations/{conversation['id']}/messages", json={"body": text, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def guest_client(app, shop: ShopFixture, name: str, phone: str):
    """A customer's device on the shop page: its own client holding its visitor cookie, with the
    ``customer_id`` and ``conversation_id`` it was given."""
    from fastapi.testclient import TestClient

    client = TestClient(app, raise_server_exceptions=False)
    r = client.post(f"/s/{shop.slug}/api/visitor", json={"name": name, "phone": phone})
    assert r.status_code == 200, r.text
    client.customer_id, client.conversation_id = r.json()["customer_id"], r.json()["conversation_id"]
    return client


def guest_says(shop: ShopFixture, guest, text: str) -> dict:
    r = guest.post(f"/s/{shop.slug}/api/messages", json={"body": text})
    assert r.status_code == 201, r.text
    return r.json()


class Device:
    """A phone on the shop page of a live server, driven over its HTTP API as shop.js does (its
    client keeps the visitor cookie), with the ``customer_id`` and ``conversation_id`` it was given."""

    def __init__(self, base: str, slug: str, name: str, phone: str) -> None:
        self.slug = slug
        self.http = httpx.Client(base_url=base, headers={"Origin": base}, timeout=10)
        r = self.http.post(f"/s/{slug}/api/visitor", json={"name": name, "phone": phone})
        assert r.status_code == 200, r.text
        self.customer_id = r.json()["customer_id"]
        self.conversation_id = r.json()["conversation_id"]

    def says(self, text: str) -> dict:
        body = {"body": text, "client_id": uuid.uuid4().hex}
        r = self.http.post(f"/s/{self.slug}/api/messages", json=body)
        assert r.status_code == 201, r.text
        return r.json()
