"""Order cards seal the delivery address under their conversation's data key (chat/card_keys.py):
never the order's own blob, opened for each reader as their view allows, and each conversation's
key unwrapped once per process however many cards a page opens."""

from __future__ import annotations

import random
import uuid

import pytest
from sqlalchemy import select

from shangliao.chat import card_keys
from shangliao.chat.cards import SEALED_ADDRESS, opened_message
from shangliao.chat.models import ConversationKey, Message
from shangliao.chat.views import message_out
from shangliao.customers.masking import mask_address
from shangliao.customers.pii import public_address
from shangliao.orders.models import Order
from shangliao.orders.timeline import unseal
from tests.support.cards import ring_opens
from tests.support.customers import SAMPLE_ADDRESS
from tests.support.orders import act, make_order
from tests.support.team import make_member


@pytest.fixture
def carded(shop, tee) -> dict:
    """A customer's order, confirmed, and its details card sent in their conversation."""
    tag = uuid.uuid4().hex[:6]
    phone = "139" + "".join(random.choice("0123456789") for _ in range(8))
    address = {**SAMPLE_ADDRESS, "receiver": f"收件{tag}", "phone": phone, "detail": f"卡片路{tag}号"}
    r = shop.api.post("/api/v1/customers", json={"name": f"卡片{tag}", "phones": [phone]})
    assert r.status_code == 201, r.text
    order = make_order(shop, [(tee.variant_id, 1)], customer_id=r.json()["id"], address=address)
    act(shop, order, "confirm")
    r = shop.api.post(f"/api/v1/orders/{order['id']}/checkpoints/details")
    assert r.status_code == 201, r.text
    return {"order": order, "address": address, "conversation_id": r.json()["conversation_id"]}


def stored_cards(runtime, conversation_id: int) -> list[dict]:
    """The conversation's order cards as stored (``views.message_out``: data as sent)."""
    with runtime.db.read() as session:
        found = session.scalars(
            select(Message).where(Message.conversation_id == conversation_id, Message.kind == "order_card")
        )
        return [message_out(m) for m in found]


def staff_card(client, conversation_id: int) -> dict:
    r = client.get(f"/api/v1/conversations/{conversation_id}/messages")
    assert r.status_code == 200, r.text
    [card] = [m for m in r.json() if m["kind"] == "order_card"]
    return card["data"]


def test_a_card_seals_the_address_under_its_conversations_key_not_the_orders_blob(runtime, carded):
    # given a details card sent in a conversation
    [card] = stored_cards(runtime, carded["conversation_id"])
    blob = unseal(card["data"][SEALED_ADDRESS])
    with runtime.db.read() as session:
        order_blob = session.get(Order, carded["order"]["id"]).address_enc
        wrapped = session.get(ConversationKey, carded["conversation_id"]).wrapped
    # then the card's blob is not the order's, names its conversation, and the ring alone does not
    # open it; the conversation's key is stored wrapped under the ring's current key
    assert order_blob and blob != order_blob
    assert card_keys.is_card_blob(blob) and card_keys.conversation_of(blob) == carded["conversation_id"]
    assert not ring_opens(runtime.keyring, blob)
    assert runtime.keyring.is_current(wrapped)
    assert carded["address"]["detail"].encode().hex() not in blob.hex()


def test_each_reader_sees_the_card_address_as_their_view_allows(runtime, shop, carded):
    # given a details card and a member who may read the chat but not personal data in full
    address = carded["address"]
    masked_member = make_member(runtime, shop, permissions=["chat.read", "customers.read"])
    # when the owner's token, the member and the customer's device read it
    owner = staff_card(shop.api, carded["conversation_id"])
    masked = staff_card(masked_member, carded["conversation_id"])
    [card] = stored_cards(runtime, carded["conversation_id"])
    with runtime.db.read() as session:
        device = opened_message(session, runtime.keyring, card, public=True)["data"]
    # then each sees the address exactly as the masking rules say, and no one the sealed blob
    full = {k: address.get(k, "") for k in owner["address"]}
    assert owner["address"] == full and owner["address"]["detail"] == address["detail"]
    assert masked["address"] == mask_address(full)
    assert device["address"] == public_address(full)
    assert all(SEALED_ADDRESS not in d and "address_erased" not in d for d in (owner, masked, device))
    # and the checkpoint's lines show where it goes as the customer's device does
    assert any(address["receiver"] in line for line in device["shown"])


def test_opening_a_page_of_cards_unwraps_the_conversations_key_once(runtime, shop, carded):
    # given three details cards in one conversation
    for _ in range(2):
        r = shop.api.post(f"/api/v1/orders/{carded['order']['id']}/checkpoints/details")
        assert r.status_code == 201, r.text
    card_keys._unwrap.cache_clear()
    # when the staff read the conversation twice
    for _ in range(2):
        r = shop.api.get(f"/api/v1/conversations/{carded['conversation_id']}/messages")
        assert r.status_code == 200, r.text
        cards = [m for m in r.json() if m["kind"] == "order_card"]
        assert [c["data"]["address"]["detail"] for c in cards] == [carded["address"]["detail"]] * 3
    # then the key was unwrapped once, every other card reused it
    info = card_keys._unwrap.cache_info()
    assert info.misses == 1 and info.hits >= 5
