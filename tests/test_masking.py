"""Personal data on a need-to-know basis (customers/masking.py, customers/reveal.py): a member
without customers.pii reads phones as 138****5678 and addresses without the street, in the API,
the console and chat cards; 显示 reads one record in full and is audited and rate limited."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shangliao.audit.models import AuditEntry
from shangliao.customers import reveal
from shangliao.customers.masking import MASK, mask_address, mask_name, mask_phone
from tests.support import sockets
from tests.support.chat import open_conversation
from tests.support.customers import SAMPLE_ADDRESS, make_customer
from tests.support.orders import ADDRESS, make_order
from tests.support.sockets import next_message, staff_socket
from tests.support.team import MEMBER_PASSWORD, make_member

PHONE, STREET = ADDRESS["phone"], ADDRESS["detail"]  # 13812345678, 文三路100号
SAVED_STREET = SAMPLE_ADDRESS["detail"]
client = sockets.client  # fixture


def _hidden(text: str, *values: str) -> bool:
    return not any(v in text for v in values)


def _console_as(app, username: str) -> TestClient:
    page = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    r = page.post("/login", data={"username": username, "password": MEMBER_PASSWORD})
    assert r.status_code == 303, r.text
    return page


@pytest.fixture
def agent(runtime, shop):
    return make_member(runtime, shop, role="agent")


# --- the rules ------------------------------------------------------------------------------------


def test_masks_keep_what_recognises_and_drop_the_rest():
    # Given a full address
    # When it is masked
    masked = mask_address(ADDRESS)
    # Then the region stays, the receiver keeps one character, the phone its ends, the street none
    assert masked == {**ADDRESS, "receiver": "张*", "phone": "138****5678", "detail": MASK}
    assert mask_phone("02112345") == "****45" and mask_phone(None) is None and mask_name("欧阳娜娜") == "欧*"


# --- the API ----------------------------------------------------------------------------------------


def test_agent_reads_an_order_masked_everywhere_the_api_shows_it(shop, tee, agent):
    # Given an unassigned order (in the agent's scope) whose address was changed once
    order = make_order(shop, [(tee.variant_ids[0], 1)])
    moved = {**ADDRESS, "detail": "文二路200号"}
    r = shop.api.put(
        f"/api/v1/orders/{order['id']}/address", json={"address": moved, "version": order["version"]}
    )
    assert r.status_code == 200, r.text
    # When the agent reads it, lists it and reads its timeline
    one = agent.get(f"/api/v1/orders/{order['id']}")
    listed = agent.get("/api/v1/orders")
    timeline = agent.get(f"/api/v1/orders/{order['id']}/timeline")
    # Then the phone and the streets are nowhere, the masks and the region are there
    for r in (one, listed, timeline):
        assert r.status_code == 200, r.text
        assert _hidden(r.text, PHONE, STREET, "文二路200号")
    assert one.json()["address"] == {**moved, "receiver": "张*", "phone": "138****5678", "detail": MASK}
    changed = next(e for e in timeline.json() if e["kind"] == "address_changed")
    assert changed["data"]["old"]["detail"] == MASK and changed["data"]["new"]["province"] == "浙江省"


def test_owner_with_the_permission_reads_the_order_in_full(shop, tee):
    # Given an order; When the owner (customers.pii) reads it
    order = make_order(shop, [(tee.variant_ids[0], 1)])
    got = shop.api.get(f"/api/v1/orders/{order['id']}").json()
    # Then the address is whole
    assert got["address"]["phone"] == PHONE and got["address"]["detail"] == STREET


def test_agent_reads_a_customer_masked(runtime, shop, agent):
    # Given a customer with a phone and a saved address
    customer_id, _ = make_customer(runtime, shop, phone="13912345678")
    # When the agent reads the customer and lists customers
    one = agent.get(f"/api/v1/customers/{customer_id}")
    listed = agent.get("/api/v1/customers")
    # Then neither carries the number or the street
    for r in (one, listed):
        assert r.status_code == 200, r.text
        assert _hidden(r.text, "13912345678", SAVED_STREET)
    body = one.json()
    assert body["phones"][0]["phone"] == "139****5678"
    assert body["addresses"][0]["detail"] == MASK and body["addresses"][0]["city"] == SAMPLE_ADDRESS["city"]


def test_agent_finds_orders_by_full_phone_and_last_four_and_reads_them_masked(shop, tee, agent):
    # Given an order to 13812345678
    order = make_order(shop, [(tee.variant_ids[0], 1)])
    for q in (PHONE, PHONE[-4:]):
        # When the agent searches by the whole number, then by its last four digits
        r = agent.post("/api/v1/orders/search", json={"q": q})
        # Then the order is found, and the answer is masked
        assert r.status_code == 200, r.text
        assert [o["id"] for o in r.json()["items"]] == [order["id"]]
        assert _hidden(r.text, PHONE, STREET)


# --- 显示 -------------------------------------------------------------------------------------------


def _reveals(runtime, shop_id: int) -> list[tuple]:
    """``(target_type, target_id, staff_id, data)`` of the shop's reveal rows."""
    with runtime.db.read() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.shop_id == shop_id, AuditEntry.act == reveal.REVEALED)
        )
        return [(e.target_type, e.target_id, e.staff_id, e.data) for e in rows]


def test_reveal_answers_in_full_and_writes_one_audit_row_without_the_value(runtime, shop, tee):
    # Given an order and a customer
    order = make_order(shop, [(tee.variant_ids[0], 1)])
    customer_id, _ = make_customer(runtime, shop, phone="13912345678")
    # When the owner reveals the order
    r = shop.api.post(f"/api/v1/orders/{order['id']}/reveal")
    # Then the address is whole, and one audit row names the order and the fields, not the values
    assert r.status_code == 200, r.text
    assert r.json()["address"]["phone"] == PHONE and r.json()["address"]["detail"] == STREET
    rows = _reveals(runtime, shop.id)
    assert rows == [("order", order["id"], shop.owner_id, {"fields": ["receiver", "phone", "detail"]})]
    # And a customer's reveal answers their phones and addresses, recorded the same way
    c = shop.api.post(f"/api/v1/customers/{customer_id}/reveal")
    assert c.status_code == 200 and c.json()["phones"][0]["phone"] == "13912345678"
    assert c.json()["addresses"][0]["detail"] == SAVED_STREET
    rows = _reveals(runtime, shop.id)
    assert len(rows) == 2 and _hidden(str(rows), PHONE, STREET, "13912345678", SAVED_STREET)


def test_a_member_without_the_permission_cannot_reveal(runtime, shop, tee, agent):
    # Given an order in the agent's scope
    order = make_order(shop, [(tee.variant_ids[0], 1)])
    # When the agent asks to reveal it
    r = agent.post(f"/api/v1/orders/{order['id']}/reveal")
    # Then it is refused with the permission's code, and nothing is recorded
    assert r.status_code == 403 and "customers.pii" in r.text and _hidden(r.text, PHONE, STREET)
    assert _reveals(runtime, shop.id) == []


def test_reveals_are_limited_per_member(runtime, shop, tee, monkeypatch):
    # Given a limit of two reveals an hour
    monkeypatch.setattr(reveal, "REVEALS", "2/hour")
    order = make_order(shop, [(tee.variant_ids[0], 1)])
    # When the owner reveals three times
    codes = [shop.api.post(f"/api/v1/orders/{order['id']}/reveal").status_code for _ in range(3)]
    # Then the third is refused, and only two were recorded
    assert codes == [200, 200, 429]
    assert len(_reveals(runtime, shop.id)) == 2


# --- the console ------------------------------------------------------------------------------------


def test_agent_console_pages_never_carry_the_full_phone_or_street(app, runtime, shop, tee, agent):
    # Given an order and a customer with a saved address
    order = make_order(shop, [(tee.variant_ids[0], 1)])
    customer_id, address_id = make_customer(runtime, shop, phone="13912345678")
    page = _console_as(app, agent.username)
    # When the agent opens the order (its address dialog is on the page), the customer, the
    # new-order customer picker and the saved address's edit form
    pages = {
        url: page.get(url)
        for url in (
            f"/orders/{order['id']}",
            f"/customers/{customer_id}",
            f"/orders/new/customers/{customer_id}",
            f"/customers/{customer_id}/addresses/{address_id}/edit",
        )
    }
    # Then every page is shown, masked, and no form is pre-filled with a mask or a value
    for url, r in pages.items():
        assert r.status_code == 200, (url, r.text[:300])
        assert _hidden(r.text, PHONE, STREET, "13912345678", SAVED_STREET), url
        assert f'value="{MASK}"' not in r.text and 'value="138****5678"' not in r.text, url
    assert "138****5678" in pages[f"/orders/{order['id']}"].text
    assert "139****5678" in pages[f"/customers/{customer_id}"].text


def test_chat_cards_show_staff_without_the_permission_a_masked_address(runtime, shop, tee, agent):
    # Given an order whose details card was sent into its customer's chat
    conversation = open_conversation(runtime, shop, "张三", PHONE)
    order = make_order(shop, [(tee.variant_ids[0], 1)], customer_id=conversation["customer_id"])
    sent = shop.api.post(f"/api/v1/orders/{order['id']}/checkpoints/details")
    assert sent.status_code == 201, sent.text
    # When the agent reads the conversation
    r = agent.get(f"/api/v1/conversations/{conversation['id']}/messages")
    # Then the card's address is masked
    assert r.status_code == 200, r.text
    card = next(m for m in r.json() if m["kind"] == "order_card")
    assert card["data"]["address"]["detail"] == MASK
    assert _hidden(r.text, PHONE, STREET)


def test_chat_card_frames_on_a_staff_socket_carry_no_full_phone_or_street(client, runtime, shop, tee, agent):
    # Given an order whose details card was sent into its customer's chat
    conversation = open_conversation(runtime, shop, "张三", "13700001234")
    order = make_order(shop, [(tee.variant_id, 1)], customer_id=conversation["customer_id"])
    assert shop.api.post(f"/api/v1/orders/{order['id']}/checkpoints/details").status_code == 201
    # When the agent's socket replays the shop's log
    with staff_socket(client, shop, token=agent.token) as ws:
        frame = next_message(ws)
    # Then the card's frame names the region, never the number or the street
    text = json.dumps(frame, ensure_ascii=False)
    assert frame["message"]["data"]["address"]["phone"] == "138****5678"
    assert _hidden(text, PHONE, STREET)


# --- a person with the permission: masked until 显示 -------------------------------------------------


def test_owner_console_shows_masks_until_reveal_except_an_order_waiting_to_ship(console, runtime, shop, tee):
    # Given a pending order and a customer
    order = make_order(shop, [(tee.variant_id, 1)])
    customer_id, _ = make_customer(runtime, shop, phone="13912345678")
    # When the owner opens them in the console
    page = console.get(f"/orders/{order['id']}").text
    profile = console.get(f"/customers/{customer_id}").text
    # Then both are masked, each with a 显示 button
    assert _hidden(page, PHONE, STREET) and f'data-reveal="/api/v1/orders/{order["id"]}/reveal"' in page
    assert _hidden(profile, "13912345678", SAVED_STREET) and "data-reveal=" in profile
    assert _reveals(runtime, shop.id) == []
    # And when the owner presses 显示, the full address comes back and is recorded
    r = console.post(f"/api/v1/orders/{order['id']}/reveal")
    assert r.status_code == 200 and r.json()["address"]["detail"] == STREET
    assert [t for t, *_ in _reveals(runtime, shop.id)] == ["order"]
    # And once the order is confirmed (waiting to ship) its page shows the address whole, to pack it
    shop.api.post(f"/api/v1/orders/{order['id']}/confirm", json={"version": order["version"]})
    shipping = console.get(f"/orders/{order['id']}").text
    assert PHONE in shipping and STREET in shipping and "data-reveal=" not in shipping


def test_a_masked_saved_address_is_picked_by_id(app, runtime, shop, tee, agent):
    # Given an order of a customer with a saved address, open in the agent's console
    customer_id, address_id = make_customer(runtime, shop, phone="13912345678")
    order = make_order(shop, [(tee.variant_id, 1)], customer_id=customer_id, address=ADDRESS)
    page = _console_as(app, agent.username)
    detail = page.get(f"/orders/{order['id']}").text
    assert f'data-address-id="{address_id}"' in detail and _hidden(detail, SAVED_STREET)
    # When the agent picks it (the form sends only its id: the fields are disabled)
    r = page.post(
        f"/orders/{order['id']}/edit/address",
        data={"version": order["version"], "address_choice": f"saved-{address_id}"},
        headers={"HX-Request": "true"},
    )
    # Then the order goes to the saved address, and the answer stays masked
    assert r.status_code == 200, r.text
    assert _hidden(r.text, SAVED_STREET, "13912345678")
    assert shop.api.get(f"/api/v1/orders/{order['id']}").json()["address"]["detail"] == SAVED_STREET


def test_agent_inbox_pages_never_carry_the_full_phone_or_street(app, runtime, shop, tee, agent):
    # Given a conversation whose customer was sent their order's details card
    conversation = open_conversation(runtime, shop, "张三", "13700001234")
    order = make_order(shop, [(tee.variant_id, 1)], customer_id=conversation["customer_id"])
    assert shop.api.post(f"/api/v1/orders/{order['id']}/checkpoints/details").status_code == 201
    page = _console_as(app, agent.username)
    # When the agent opens the conversation and its customer panel
    for url in (f"/inbox/{conversation['id']}", f"/inbox/{conversation['id']}/panel"):
        r = page.get(url)
        # Then neither carries the customer's number nor the order's street
        assert r.status_code == 200, (url, r.text[:300])
        assert _hidden(r.text, "13700001234", PHONE, STREET), url
