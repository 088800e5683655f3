"""Orders born in chat on the staff side, and the dispute checkpoints of an order.

A customer's text is read against the shop's catalog and offered as a pre-filled draft; staff make
the order from the conversation (channel chat, linked for good). The four checkpoints are messages
in the order's conversation: done by the earliest one that was not recalled.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shangliao.chat import service
from shangliao.chat.models import Message
from tests.support.catalog import make_product
from tests.support.chat import customer_says, say
from tests.support.customers import SAMPLE_ADDRESS, make_customer
from tests.support.orders import act, make_order

SHIP = {"carrier_code": "SF", "tracking_number": "SF1234567890"}
ISSUE_EXAMPLE = "我要两件红色M码的T恤，再来一箱矿泉水"


@pytest.fixture
def catalog(runtime, shop) -> dict:
    tee = make_product(
        runtime,
        shop,
        name="纯棉圆领T恤",
        options=["颜色", "尺码"],
        variants=[
            {"spec": {"颜色": "红色", "尺码": "M"}, "price": 5900},
            {"spec": {"颜色": "红色", "尺码": "L"}, "price": 5900},
            {"spec": {"颜色": "白色", "尺码": "M"}, "price": 6900},
        ],
        stock=20,
    )
    water = make_product(runtime, shop, name="矿泉水", price=2400, stock=30)
    return {"tee": tee, "water": water}


@pytest.fixture
def customer(runtime, shop) -> int:
    customer_id, _ = make_customer(runtime, shop, name="李四", phone="13900001111")
    return customer_id


@pytest.fixture
def conversation(shop, customer) -> dict:
    r = shop.api.post(f"/api/v1/customers/{customer}/conversation")
    assert r.status_code == 200, r.text
    return r.json()


def suggestion(shop, conversation: dict, message_id: int):
    return shop.api.get(f"/api/v1/conversations/{conversation['id']}/messages/{message_id}/suggestion")


def suggested(shop, conversation: dict, message_id: int) -> dict:
    r = suggestion(shop, conversation, message_id)
    assert r.status_code == 200, r.text
    return r.json()


def checkpoints(shop, order: dict) -> dict[str, dict]:
    r = shop.api.get(f"/api/v1/orders/{order['id']}/checkpoints")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [c["kind"] for c in items] == ["details", "photos", "tracking", "inspect"]
    return {c["kind"]: c for c in items}


def send_checkpoint(shop, order: dict, kind: str):
    return shop.api.post(f"/api/v1/orders/{order['id']}/checkpoints/{kind}")


def sent_checkpoint(shop, order: dict, kind: str) -> dict:
    r = send_checkpoint(shop, order, kind)
    assert r.status_code == 201, r.text
    return r.json()


# --- free text → a pre-filled draft ------------------------------------------------------------------


def test_the_issues_example_is_read_as_two_items_with_variants_and_quantities(
    runtime, shop, catalog, conversation
):
    # given a customer asking for two red M T-shirts and a case of water
    message = customer_says(runtime, shop, conversation, ISSUE_EXAMPLE)

    # when staff ask for the suggestion
    found = suggested(shop, conversation, message.id)

    # then it is an order of both, with the catalog's variants and prices
    assert found["is_order"] is True
    items = [(i["product_id"], i["variant_id"], i["quantity"], i["unit_price"]) for i in found["items"]]
    assert items == [
        (catalog["tee"].product_id, catalog["tee"].variant_ids[0], 2, 5900),
        (catalog["water"].product_id, catalog["water"].variant_id, 1, 2400),
    ]
    assert found["items"][0]["name"] == "纯棉圆领T恤" and found["items"][0]["spec"] == "红色 / M"
    assert found["unmatched"] == []


def test_items_the_shop_does_not_sell_are_left_for_staff(runtime, shop, catalog, conversation):
    message = customer_says(runtime, shop, conversation, "要两件白色M码的T恤，再来一个充电宝")

    found = suggested(shop, conversation, message.id)

    assert found["is_order"] is True
    assert [(i["variant_id"], i["quantity"]) for i in found["items"]] == [(catalog["tee"].variant_ids[2], 2)]
    assert len(found["unmatched"]) == 1 and "充电宝" in found["unmatched"][0]


def test_a_product_whose_variant_is_not_said_is_offered_without_one(runtime, shop, catalog, conversation):
    message = customer_says(runtime, shop, conversation, "我要三件T恤")

    found = suggested(shop, conversation, message.id)

    assert [(i["product_id"], i["variant_id"], i["quantity"], i["unit_price"]) for i in found["items"]] == [
        (catalog["tee"].product_id, None, 3, None)
    ]


def test_a_question_is_not_an_order(runtime, shop, catalog, conversation):
    message = customer_says(runtime, shop, conversation, "这个有货吗")

    assert suggested(shop, conversation, message.id) == {"is_order": False, "items": [], "unmatched": []}


def test_the_shops_own_messages_are_never_read_as_orders(shop, catalog, conversation):
    mine = say(shop, conversation, ISSUE_EXAMPLE)

    assert suggested(shop, conversation, mine["id"])["is_order"] is False


def test_a_product_added_after_a_suggestion_is_seen_by_the_next_one(runtime, shop, catalog, conversation):
    # given a suggestion made while the shop did not sell cups (its catalog is now cached)
    message = customer_says(runtime, shop, conversation, "再来两个保温杯")
    assert suggested(shop, conversation, message.id)["items"] == []

    # when the shop adds cups
    cup = make_product(runtime, shop, name="保温杯", price=3900)

    # then the same message now names them
    items = suggested(shop, conversation, message.id)["items"]
    assert [(i["variant_id"], i["quantity"], i["unit_price"]) for i in items] == [(cup.variant_id, 2, 3900)]


def test_another_conversations_or_shops_message_is_not_found(
    runtime, shop, other_shop, app, catalog, conversation
):
    message = customer_says(runtime, shop, conversation, ISSUE_EXAMPLE)
    other_customer, _ = make_customer(runtime, shop, name="王五", phone="13700002222")
    other = shop.api.post(f"/api/v1/customers/{other_customer}/conversation").json()

    assert suggestion(shop, other, message.id).status_code == 404
    assert suggestion(other_shop, conversation, message.id).status_code == 404


# --- the order made from the chat --------------------------------------------------------------------


def test_a_draft_made_from_chat_is_linked_to_the_conversation(runtime, shop, catalog, customer, conversation):
    # given the customer's message and the items staff kept from its suggestion
    message = customer_says(runtime, shop, conversation, ISSUE_EXAMPLE)
    items = [
        {"variant_id": i["variant_id"], "quantity": i["quantity"]}
        for i in suggested(shop, conversation, message.id)["items"]
    ]

    # when staff make the order from the conversation
    r = shop.api.post(
        f"/api/v1/conversations/{conversation['id']}/orders",
        json={"items": items, "source_message_id": message.id},
    )

    # then it is the customer's draft, channel chat, linked to the conversation for good
    assert r.status_code == 201, r.text
    order = r.json()
    assert (order["status"], order["channel"], order["customer_id"], order["conversation_id"]) == (
        "draft",
        "chat",
        customer,
        conversation["id"],
    )
    # (a draft needs no address; the customer's default one is filled in for staff to check)
    assert order["total"] == 2 * 5900 + 2400 and order["address"]["detail"] == SAMPLE_ADDRESS["detail"]
    assert shop.api.get(f"/api/v1/orders/{order['id']}").json()["conversation_id"] == conversation["id"]
    created = shop.api.get(f"/api/v1/orders/{order['id']}/timeline").json()[0]
    assert created["kind"] == "created"
    assert created["data"]["source_message_id"] == message.id and created["data"]["channel"] == "chat"


def test_an_order_placed_from_chat_goes_to_the_customers_default_address(shop, catalog, conversation):
    r = shop.api.post(
        f"/api/v1/conversations/{conversation['id']}/orders",
        json={"items": [{"variant_id": catalog["water"].variant_id, "quantity": 2}], "draft": False},
    )

    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == "pending" and order["address"]["detail"] == SAMPLE_ADDRESS["detail"]


def test_an_order_from_chat_needs_the_permission_to_write_orders(app, shop, catalog, conversation):
    token = shop.api.post(
        "/api/v1/auth/tokens", json={"name": "chat only", "scopes": ["chat.read", "chat.write"]}
    ).json()
    chat_only = TestClient(
        app, headers={"Authorization": f"Bearer {token['token']}"}, raise_server_exceptions=False
    )
    before = shop.api.get("/api/v1/orders/counts").json()

    r = chat_only.post(
        f"/api/v1/conversations/{conversation['id']}/orders",
        json={"items": [{"variant_id": catalog["water"].variant_id, "quantity": 1}]},
    )

    assert r.status_code == 403 and r.json()["error"]["code"] == "auth.forbidden"
    assert shop.api.get("/api/v1/orders/counts").json() == before


def test_a_source_message_of_another_conversation_is_refused_and_nothing_is_made(
    runtime, shop, other_shop, catalog, conversation
):
    other_customer, _ = make_customer(runtime, shop, name="王五", phone="13700002222")
    other = shop.api.post(f"/api/v1/customers/{other_customer}/conversation").json()
    theirs = customer_says(runtime, shop, other, ISSUE_EXAMPLE)
    body = {
        "items": [{"variant_id": catalog["water"].variant_id, "quantity": 1}],
        "source_message_id": theirs.id,
    }

    r = shop.api.post(f"/api/v1/conversations/{conversation['id']}/orders", json=body)
    elsewhere = other_shop.api.post(
        f"/api/v1/conversations/{conversation['id']}/orders", json={**body, "source_message_id": None}
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "chat.message_not_found"
    assert elsewhere.status_code == 404
    assert sum(shop.api.get("/api/v1/orders/counts").json().values()) == 0


# --- dispute checkpoints ------------------------------------------------------------------------------


@pytest.fixture
def order(shop, catalog, customer) -> dict:
    """A pending order placed by hand for the customer, not yet linked to any conversation."""
    return make_order(shop, [(catalog["water"].variant_id, 1)], customer_id=customer)


def test_no_checkpoint_is_done_at_first_and_details_are_due_once_confirmed(shop, order):
    found = checkpoints(shop, order)
    assert [c["done"] for c in found.values()] == [False] * 4
    assert [c["due"] for c in found.values()] == [False] * 4

    act(shop, order, "confirm")

    found = checkpoints(shop, order)
    assert {k for k, c in found.items() if c["due"]} == {"details", "photos"}
    assert found["details"]["can_send"] and not found["photos"]["can_send"]
    assert not found["tracking"]["can_send"]


def test_sending_the_details_marks_them_done_with_the_message(shop, order, customer):
    # given a confirmed order that has no conversation yet
    act(shop, order, "confirm")
    assert shop.api.get(f"/api/v1/orders/{order['id']}").json()["conversation_id"] is None

    # when staff send the details for the customer to check
    sent = sent_checkpoint(shop, order, "details")

    # then an order card with the amounts and the address goes to the customer's conversation…
    assert sent["kind"] == "order_card" and sent["sender_type"] == "staff"
    assert sent["data"]["order_id"] == order["id"] and sent["data"]["checkpoint"] == "details"
    assert sent["data"]["address"]["detail"] == order["address"]["detail"]
    assert sent["data"]["shipping_fee"] == 0 and sent["body"]
    # …the order is linked to that conversation, and the checkpoint is done by that message
    conversation_id = shop.api.get(f"/api/v1/orders/{order['id']}").json()["conversation_id"]
    assert conversation_id == sent["conversation_id"]
    assert shop.api.post(f"/api/v1/customers/{customer}/conversation").json()["id"] == conversation_id
    details = checkpoints(shop, order)["details"]
    assert (details["done"], details["message_id"], details["seq"]) == (True, sent["id"], sent["seq"])


def test_sending_the_details_needs_the_permission_to_read_orders(app, shop, order, customer):
    # given a confirmed order, and a chat-only token that may not read orders (nor their address)
    act(shop, order, "confirm")
    token = shop.api.post(
        "/api/v1/auth/tokens", json={"name": "chat only", "scopes": ["chat.read", "chat.write"]}
    ).json()
    chat_only = TestClient(
        app, headers={"Authorization": f"Bearer {token['token']}"}, raise_server_exceptions=False
    )

    # when it tries to send the details into the chat
    r = chat_only.post(f"/api/v1/orders/{order['id']}/checkpoints/details")

    # then it is refused, and nothing reached the conversation
    assert r.status_code == 403 and r.json()["error"]["code"] == "auth.forbidden"
    conversation = shop.api.post(f"/api/v1/customers/{customer}/conversation").json()
    assert shop.api.get(f"/api/v1/conversations/{conversation['id']}/messages").json() == []
    assert checkpoints(shop, order)["details"]["done"] is False


def test_tracking_is_refused_before_shipping_and_done_after(shop, order):
    act(shop, order, "confirm")

    early = send_checkpoint(shop, order, "tracking")
    assert early.status_code == 409 and early.json()["error"]["code"] == "chat.checkpoint_not_shipped"
    assert checkpoints(shop, order)["tracking"]["done"] is False

    act(shop, order, "ship", **SHIP)
    sent = sent_checkpoint(shop, order, "tracking")

    assert sent["data"]["tracking_number"] == SHIP["tracking_number"]
    assert sent["data"]["carrier_name"] == "顺丰速运" and "kuaidi100" in sent["data"]["tracking_url"]
    assert SHIP["tracking_number"] in sent["body"]
    found = checkpoints(shop, order)
    assert found["tracking"]["done"] and found["tracking"]["message_id"] == sent["id"]
    assert found["inspect"]["due"] and not found["inspect"]["done"]


def test_a_recalled_checkpoint_does_not_count_and_the_earliest_standing_one_does(shop, order):
    act(shop, order, "confirm")
    act(shop, order, "ship", **SHIP)
    first = sent_checkpoint(shop, order, "inspect")
    assert first["kind"] == "text" and "验货" in first["body"]

    r = shop.api.post(f"/api/v1/conversations/{first['conversation_id']}/messages/{first['id']}/recall")
    assert r.status_code == 200, r.text
    assert checkpoints(shop, order)["inspect"]["done"] is False

    second = sent_checkpoint(shop, order, "inspect")
    third = sent_checkpoint(shop, order, "inspect")
    assert checkpoints(shop, order)["inspect"]["message_id"] == second["id"] != third["id"]


def test_photos_count_from_a_picture_sent_with_the_order_and_are_not_sent_from_here(runtime, shop, order):
    act(shop, order, "confirm")
    sent = sent_checkpoint(shop, order, "details")
    refused = send_checkpoint(shop, order, "photos")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "chat.checkpoint_photos"

    # (the attachments upload sends a photo with an order id like this: see the shared contracts)
    with runtime.db.write() as session:
        picture = service.do_send(
            session,
            runtime.keyring,
            shop.id,
            sent["conversation_id"],
            sender_type="staff",
            sender_id=shop.owner_id,
            kind="image",
            data={
                "attachment_id": 1,
                "name": "a.jpg",
                "size": 10,
                "mime": "image/jpeg",
                "order_id": order["id"],
                "checkpoint": "photos",
            },
        )

    photos = checkpoints(shop, order)["photos"]
    assert (photos["done"], photos["message_id"]) == (True, picture.id)


def test_a_customers_message_naming_a_checkpoint_does_not_count(runtime, shop, order):
    act(shop, order, "confirm")
    sent = sent_checkpoint(shop, order, "inspect")
    conversation = {"id": sent["conversation_id"], "customer_id": order["customer_id"]}
    customer_says(
        runtime, shop, conversation, "收到", data={"order_id": order["id"], "checkpoint": "details"}
    )

    assert checkpoints(shop, order)["details"]["done"] is False


def test_the_address_in_a_details_message_is_stored_sealed(runtime, shop, order):
    act(shop, order, "confirm")
    sent = sent_checkpoint(shop, order, "details")

    with runtime.db.read() as session:
        stored = session.scalar(select(Message.data).where(Message.id == sent["id"]))

    raw = json.dumps(stored, ensure_ascii=False)
    for value in (order["address"]["receiver"], order["address"]["phone"], order["address"]["detail"]):
        assert value not in raw
    assert stored["address_sealed"] and "address" not in stored
    # staff reading the conversation see it opened
    listed = shop.api.get(f"/api/v1/conversations/{sent['conversation_id']}/messages").json()
    assert listed[-1]["data"]["address"]["phone"] == order["address"]["phone"]


def test_nothing_is_sent_for_a_draft_nor_an_order_without_a_customer(shop, catalog):
    draft = make_order(shop, [(catalog["water"].variant_id, 1)], draft=True)
    anonymous = make_order(shop, [(catalog["water"].variant_id, 1)])

    r = send_checkpoint(shop, draft, "details")
    assert r.status_code == 409 and r.json()["error"]["code"] == "chat.checkpoint_not_now"
    r = send_checkpoint(shop, anonymous, "details")
    assert r.status_code == 409 and r.json()["error"]["code"] == "chat.order_without_customer"
    assert checkpoints(shop, anonymous)["details"]["conversation_id"] is None


def test_another_shops_order_has_no_checkpoints_to_see_or_send(shop, other_shop, order):
    assert other_shop.api.get(f"/api/v1/orders/{order['id']}/checkpoints").status_code == 404
    assert other_shop.api.post(f"/api/v1/orders/{order['id']}/checkpoints/details").status_code == 404
    assert checkpoints(shop, order)["details"]["done"] is False


def test_the_customer_is_shown_the_details_address_without_the_street_or_the_full_number(anon, shop, order):
    # given the customer's device on the shop page (its typed number linked by staff: a phone
    # number alone proves nothing), then the details sent for them to check
    joined = anon.post(f"/s/{shop.slug}/api/visitor", json={"name": "李四", "phone": "13900001111"})
    assert joined.status_code == 200, joined.text
    linked = shop.api.post(f"/api/v1/conversations/{joined.json()['conversation_id']}/link-claimed")
    assert linked.status_code == 200, linked.text
    act(shop, order, "confirm")
    sent_checkpoint(shop, order, "details")

    # when the device reads the conversation
    seen = anon.get(f"/s/{shop.slug}/api/messages").json()[-1]["data"]

    # then it recognises the address (receiver, region, masked number) but not where they live
    address = order["address"]
    assert seen["address"]["receiver"] == address["receiver"]
    assert seen["address"]["phone"] == address["phone"][:3] + "****" + address["phone"][-4:]
    assert address["detail"] not in json.dumps(seen, ensure_ascii=False) and "address_sealed" not in seen
