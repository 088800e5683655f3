"""Merging duplicate customers, in the service and over the API, on both databases."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from shangliao.chat.models import Attachment, Conversation, Message
from shangliao.chat.verify import sign_heads, verify
from shangliao.core.errors import Invalid
from shangliao.customers import service
from shangliao.customers.merge import do_merge_customers, merged_into, plan_merge
from shangliao.customers.models import CustomerAddress, CustomerPhone
from shangliao.customers.pii import CUSTOMER_ADDRESSES, decrypt_address, decrypt_phone
from shangliao.customers.schemas import MAX_PHONES
from shangliao.events import log
from shangliao.orders.models import Order
from tests.support.chat import guest_client, guest_says
from tests.support.orders import act, make_order, variant_stock
from tests.test_chat_attachments import png, staff_upload
from tests.test_console import sign_in
from tests.test_pii_at_rest import checkpoint_sqlite, postgres_rows, sqlite_files, unique_secrets, visible

API = "/api/v1/customers"
HOME = {"receiver": "张三", "phone": "13812345678", "province": "浙江省", "city": "杭州市",
        "district": "西湖区", "detail": "文三路100号"}  # fmt: skip
WORK = {**HOME, "detail": "黄龙路1号 公司前台"}


def create(shop, **body) -> dict:
    r = shop.api.post(API, json={"name": "张三", **body})
    assert r.status_code == 201, r.text
    return r.json()


def merge(shop, keep: dict, drop: dict, **body):
    return shop.api.post(f"{API}/{keep['id']}/merge", json={"other_id": drop["id"], **body})


def error(r, status: int) -> dict:
    assert r.status_code == status, r.text
    return r.json()["error"]


def test_the_duplicates_orders_phones_addresses_tags_and_note_move_to_the_kept_customer(shop, runtime, tee):
    # given one person recorded twice, each with orders, one paid
    keep = create(shop, phones=["13812345678"], addresses=[HOME], tags=["VIP"], note="喜欢顺丰")
    drop = create(
        shop,
        name="张三丰",
        phones=["15900001111"],
        addresses=[{**HOME, "is_default": True}, WORK],  # HOME again: the kept customer has it
        tags=["VIP", "老客"],
        note="只收顺丰，晚上送",
    )
    first = make_order(shop, [(tee.variant_id, 1)], customer_id=drop["id"])
    act(shop, first, "confirm")
    shop.api.post(f"/api/v1/orders/{first['id']}/payments", json={"method": "cash", "amount": 5900})
    later = make_order(shop, [(tee.variant_id, 2)], customer_id=keep["id"])
    before = {c["id"]: c for c in (shop.api.get(f"{API}/{x['id']}").json() for x in (keep, drop))}
    # when the duplicate is merged into the kept customer
    r = merge(shop, keep, drop, version=keep["version"], other_version=drop["version"])
    # then the kept customer has everything, each phone and address once
    assert r.status_code == 200, r.text
    merged = r.json()
    assert merged["id"] == keep["id"] and merged["name"] == "张三"
    assert [(p["phone"], p["is_primary"]) for p in merged["phones"]] == [
        ("13812345678", True),
        ("15900001111", False),
    ]
    assert [(a["detail"], a["is_default"]) for a in merged["addresses"]] == [
        (HOME["detail"], True),
        (WORK["detail"], False),
    ]
    assert merged["tags"] == sorted(["VIP", "老客"])
    assert merged["note"] == "喜欢顺丰\n\n只收顺丰，晚上送"
    # and the order figures add up
    old_keep, old_drop = before[keep["id"]], before[drop["id"]]
    assert merged["order_count"] == old_keep["order_count"] + old_drop["order_count"] == 2
    assert merged["total_spent"] == 5900
    assert merged["first_order_at"] == old_drop["first_order_at"]
    assert merged["last_order_at"] == old_keep["last_order_at"]
    assert merged["version"] == keep["version"] + 1 and merged["blocked"] is False
    # and the duplicate is gone, its orders the kept customer's, under the name they were placed with
    assert error(shop.api.get(f"{API}/{drop['id']}"), 404)["code"] == "customer.not_found"
    moved = shop.api.get(f"/api/v1/orders/{first['id']}").json()
    assert (moved["customer_id"], moved["customer_name"]) == (keep["id"], "张三丰")
    listed = shop.api.get("/api/v1/orders", params={"customer_id": keep["id"]}).json()["items"]
    assert {o["id"] for o in listed} == {first["id"], later["id"]}
    # and the phone that moved finds the kept customer
    found = shop.api.post(f"{API}/search", json={"q": "15900001111"}).json()["items"]
    assert [c["id"] for c in found] == [keep["id"]]


def test_the_merge_is_logged_with_ids_and_counts_only(shop, runtime, tee):
    keep = create(shop, phones=["13812345678"])
    drop = create(shop, name="欧阳娜娜", phones=["15900001111"], addresses=[WORK], note="恶意退款")
    make_order(shop, [(tee.variant_id, 1)], customer_id=drop["id"])
    assert merge(shop, keep, drop).status_code == 200
    with runtime.db.read() as session:
        events = [
            (e.entity_type, e.entity_id, e.data)
            for e in log.since(session, shop.id, 0)
            if e.type == "customer.merged"
        ]
    assert events == [
        (
            "customer",
            drop["id"],
            {"into_id": keep["id"], "orders": 1, "conversations": 0, "phones": 1, "addresses": 1},
        )
    ]
    dumped = json.dumps([data for *_, data in events], ensure_ascii=False)
    for secret in ("15900001111", "欧阳娜娜", "黄龙路", "恶意退款"):
        assert secret not in dumped


def test_a_blacklisted_duplicate_blacklists_the_kept_customer(shop, tee):
    # given a duplicate on the blacklist
    keep = create(shop, phones=["13812345678"], addresses=[HOME])
    drop = create(shop, name="张三丰", phones=["15900001111"])
    shop.api.patch(f"{API}/{drop['id']}", json={"blocked": True})
    # when it is merged
    merged = merge(shop, keep, drop).json()
    # then the kept customer is blacklisted, and orders for them are refused with the reason
    assert merged["blocked"] is True
    r = shop.api.post(
        "/api/v1/orders",
        json={"items": [{"variant_id": tee.variant_id, "quantity": 1}], "customer_id": keep["id"]},
    )
    assert error(r, 409) == {
        "code": "customer.blocked",
        "message": "该客户已被拉黑，不能为其下单。",
        "details": {"customer_id": keep["id"]},
    }


def test_refusals_change_nothing(shop, other_shop):
    keep = create(shop, phones=["13812345678"])
    drop = create(shop, name="张三丰", phones=["15900001111"])
    theirs = create(other_shop, name="别家客户", phones=["13700001111"])
    cases = [
        (merge(shop, keep, keep), 422, "customer.merge_self"),
        (merge(shop, keep, theirs), 404, "customer.not_found"),
        (merge(shop, theirs, drop), 404, "customer.not_found"),
        (merge(other_shop, theirs, drop), 404, "customer.not_found"),
        (merge(shop, keep, {"id": 2**62}), 404, "customer.not_found"),
        (merge(shop, keep, drop, version=keep["version"] + 1), 409, "customer.stale"),
        (merge(shop, keep, drop, other_version=drop["version"] + 1), 409, "customer.stale"),
        (shop.api.post(f"{API}/{keep['id']}/merge", json={"other_id": drop["id"], "x": 1}), 422, None),
        (shop.api.post(f"{API}/{keep['id']}/merge", json={"other_id": 0}), 422, None),
    ]
    for r, status, code in cases:
        assert r.status_code == status, r.text
        if code:
            assert r.json()["error"]["code"] == code
    for customer in (keep, drop):
        assert shop.api.get(f"{API}/{customer['id']}").json() == customer
    assert other_shop.api.get(f"{API}/{theirs['id']}").json() == theirs


def test_a_read_only_token_cannot_merge(shop):
    keep = create(shop, phones=["13812345678"])
    drop = create(shop, name="张三丰", phones=["15900001111"])
    token = shop.api.post("/api/v1/auth/tokens", json={"name": "crm", "scopes": ["customers.read"]}).json()
    r = shop.api.post(
        f"{API}/{keep['id']}/merge",
        json={"other_id": drop["id"]},
        headers={"Authorization": f"Bearer {token['token']}"},
    )
    assert error(r, 403)["code"] == "auth.forbidden"
    assert shop.api.get(f"{API}/{drop['id']}").status_code == 200


def test_a_merge_past_the_customer_limits_is_refused_with_the_numbers(shop):
    keep = create(shop, phones=[f"1380000000{i}" for i in range(MAX_PHONES)])
    drop = create(shop, name="张三丰", phones=["15900001111"], note="x" * 10)
    refused = error(merge(shop, keep, drop), 422)
    assert refused["code"] == "customer.merge_too_large"
    assert refused["details"] == {"field": "phones", "total": MAX_PHONES + 1, "max": MAX_PHONES}
    assert str(MAX_PHONES + 1) in refused["message"]
    assert shop.api.get(f"{API}/{drop['id']}").status_code == 200
    long_notes = (create(shop, name="甲", note="甲" * 1500), create(shop, name="乙", note="乙" * 1500))
    assert error(merge(shop, *long_notes), 422)["details"]["field"] == "note"


def test_stock_and_the_moved_orders_lifecycle_are_untouched(shop, tee):
    # given a duplicate with a pending order holding stock
    keep = create(shop, phones=["13812345678"])
    drop = create(shop, name="张三丰", phones=["15900001111"])
    order = make_order(shop, [(tee.variant_id, 3)], customer_id=drop["id"])
    held = variant_stock(shop, tee.product_id, tee.variant_id)
    assert held["reserved"] == 3
    # when the duplicate is merged
    assert merge(shop, keep, drop).status_code == 200
    # then the stock is as it was, and the order goes on with its life: cancelling releases it
    assert variant_stock(shop, tee.product_id, tee.variant_id) == held
    moved = shop.api.get(f"/api/v1/orders/{order['id']}").json()
    assert moved["version"] == order["version"]  # nobody editing the order gets a spurious 409
    act(shop, moved, "cancel", reason="duplicate")
    after = variant_stock(shop, tee.product_id, tee.variant_id)
    assert (after["reserved"], after["on_hand"]) == (0, held["on_hand"])


def test_phones_and_addresses_stay_encrypted_after_the_merge(shop, runtime):
    # given two customers with unique secrets
    secrets = unique_secrets()
    other = unique_secrets()
    keep = create(shop, name=secrets["name"], phones=[secrets["phone"]])
    address = {**HOME, "receiver": other["receiver"], "phone": other["phone"], "detail": other["detail"]}
    drop = create(shop, name=other["name"], phones=[other["phone"]], addresses=[address])
    # when they are merged
    assert merge(shop, keep, drop).status_code == 200
    # then the moved phone and address decrypt where they now belong
    with runtime.db.read() as session:
        phones = session.scalars(select(CustomerPhone).where(CustomerPhone.customer_id == keep["id"])).all()
        (row,) = session.scalars(select(CustomerAddress).where(CustomerAddress.customer_id == keep["id"]))
        assert sorted(decrypt_phone(runtime.keyring, p.phone_enc) for p in phones) == sorted(
            [secrets["phone"], other["phone"]]
        )
        assert (
            decrypt_address(runtime.keyring, row.data_enc, table=CUSTOMER_ADDRESSES).detail == other["detail"]
        )
    # and the raw database shows the kept name (the control), never a phone, receiver or street;
    # the dropped customer's name is not asserted: SQLite may keep deleted bytes in free pages
    hidden = {"phone": False, "receiver": False, "detail": False}
    for found in (secrets, other):
        if runtime.db.is_sqlite:
            raws = [sqlite_files(runtime), checkpoint_sqlite(runtime)]
        else:
            raws = [postgres_rows(runtime)]
        for raw in raws:
            seen = visible(found, raw)
            assert {k: seen[k] for k in hidden} == hidden
            assert seen["name"] or found is other


def test_the_service_keeps_an_only_default_and_primary_and_follows_chains_of_merges(shop, runtime):
    # given a kept customer without phones or addresses, and two duplicates
    bare = create(shop, name="王五")
    full = create(shop, name="王五 (微信)", phones=["15900001111"], addresses=[HOME, WORK])
    third = create(shop, name="老王", phones=["13700001111"])
    with runtime.db.write() as session:
        keep = service.access_customer(session, shop.id, bare["id"])
        drop = service.access_customer(session, shop.id, full["id"])
        plan = plan_merge(runtime.keyring, keep, drop)
        assert (len(plan.phone_ids), len(plan.address_ids), plan.duplicate_address_ids) == (1, 2, ())
        merged = do_merge_customers(session, runtime.keyring, shop.actor, keep, drop)
        # then the duplicate's primary phone and default address are the kept customer's now
        assert [p.is_primary for p in merged.phones] == [True]
        assert [a.is_default for a in merged.addresses] == [True, False]
    # when the kept customer is later merged into a third one
    assert merge(shop, third, bare).status_code == 200
    # then an old id leads through both merges to the customer that lives on
    with runtime.db.read() as session:
        assert merged_into(session, shop.id, full["id"]) == third["id"]
        assert merged_into(session, shop.id, bare["id"]) == third["id"]
        assert merged_into(session, shop.id, third["id"]) is None
        assert session.scalar(select(Order.id).where(Order.customer_id == full["id"])) is None


def test_plan_refuses_merging_into_the_same_customer(shop, runtime):
    keep = create(shop, phones=["13812345678"])
    with runtime.db.write() as session:
        customer = service.access_customer(session, shop.id, keep["id"])
        with pytest.raises(Invalid) as refused:
            do_merge_customers(session, runtime.keyring, shop.actor, customer, customer)
    assert refused.value.code == "customer.merge_self"


# --- the chat is evidence: it moves, never goes (rule 17 of docs/architecture.md) ---------------------


def history(runtime, conversation_id: int) -> list[str]:
    with runtime.db.read() as session:
        return list(
            session.scalars(
                select(Message.body).where(Message.conversation_id == conversation_id).order_by(Message.seq)
            )
        )


def test_both_customers_chats_move_to_the_kept_one_as_one_inbox_entry_and_still_verify(app, runtime, shop):
    # given one person who chatted from two devices under two names, with a photo sent to the second
    kept_device = guest_client(app, shop, "张三", "13812345678")
    dropped_device = guest_client(app, shop, "张三丰", "15900001111")
    guest_says(shop, kept_device, "在吗")
    guest_says(shop, dropped_device, "我的包裹到了吗")
    photo = staff_upload(shop, dropped_device.conversation_id, png())
    assert photo.status_code == 201, photo.text
    sign_heads(runtime.db, runtime.keyring, shop.id)
    keep, drop = ({"id": d.customer_id} for d in (kept_device, dropped_device))
    # when staff merge the second customer into the first
    r = merge(shop, keep, drop)
    # then both histories are still there, under the kept customer, and every chain verifies
    assert r.status_code == 200, r.text
    assert history(runtime, kept_device.conversation_id) == ["在吗"]
    assert history(runtime, dropped_device.conversation_id)[0] == "我的包裹到了吗"
    with runtime.db.read() as session:
        owners = session.scalars(
            select(Conversation.customer_id).where(
                Conversation.id.in_([kept_device.conversation_id, dropped_device.conversation_id])
            )
        ).all()
        attachments = session.scalar(
            select(func.count(Attachment.id)).where(
                Attachment.conversation_id == dropped_device.conversation_id
            )
        )
    assert owners == [keep["id"], keep["id"]] and attachments == 1
    assert verify(runtime.db, runtime.keyring, shop.id, uploads_dir=runtime.settings.uploads_dir) == []
    # and the inbox has one entry for the person, which leads to the merged history
    listed = shop.api.get("/api/v1/conversations").json()["items"]
    assert [(c["id"], c["customer_id"]) for c in listed] == [(kept_device.conversation_id, keep["id"])]
    assert listed[0]["merged_ids"] == [dropped_device.conversation_id]
    merged = shop.api.get(f"/api/v1/conversations/{dropped_device.conversation_id}").json()
    assert merged["merged_into_id"] == kept_device.conversation_id
    # and the second device still reaches the shop, in the kept conversation, from the merge on
    guest_says(shop, dropped_device, "是同一个人")
    assert history(runtime, kept_device.conversation_id) == ["在吗", "是同一个人"]
    seen = dropped_device.get(f"/s/{shop.slug}/api/messages").json()
    assert [m["body"] for m in seen] == ["是同一个人"]


def test_a_duplicate_who_alone_chatted_hands_the_conversation_over_as_it_is(app, runtime, shop):
    # given a customer with no chat and a duplicate who chatted
    keep = create(shop, phones=["13812345678"])
    device = guest_client(app, shop, "张三丰", "15900001111")
    guest_says(shop, device, "在吗")
    # when the duplicate is merged away
    assert merge(shop, keep, {"id": device.customer_id}).status_code == 200
    # then the conversation is the kept customer's own, listed under their name, and the device sees it all
    listed = shop.api.get("/api/v1/conversations").json()["items"]
    assert [(c["id"], c["customer_name"], c["merged_ids"]) for c in listed] == [
        (device.conversation_id, "张三", [])
    ]
    guest_says(shop, device, "还在")
    assert [m["body"] for m in device.get(f"/s/{shop.slug}/api/messages").json()] == ["在吗", "还在"]
    assert verify(runtime.db, runtime.keyring, shop.id) == []


def test_staff_writing_into_a_merged_away_conversation_are_told_where_it_went(app, runtime, shop):
    # given two customers' chats merged into one
    first = guest_client(app, shop, "张三", "13812345678")
    second = guest_client(app, shop, "张三丰", "15900001111")
    assert merge(shop, {"id": first.customer_id}, {"id": second.customer_id}).status_code == 200
    # when a colleague, with the old conversation still open, writes into it
    r = shop.api.post(f"/api/v1/conversations/{second.conversation_id}/messages", json={"body": "您好"})
    # then it is refused with where to write instead, and nothing is written
    assert error(r, 409) == {
        "code": "chat.conversation_merged",
        "message": "这个会话已合并到另一个会话，请在那里回复。",
        "details": {"conversation_id": second.conversation_id, "merged_into_id": first.conversation_id},
    }
    assert history(runtime, second.conversation_id) == []


def test_the_console_chat_leads_from_one_conversation_to_the_other(app, runtime, shop):
    # given two customers' chats merged into one
    first = guest_client(app, shop, "张三", "13812345678")
    second = guest_client(app, shop, "张三丰", "15900001111")
    guest_says(shop, second, "我的包裹到了吗")
    assert merge(shop, {"id": first.customer_id}, {"id": second.customer_id}).status_code == 200
    console = sign_in(app, shop)
    # when staff open the conversation that lives on, and then the merged one
    kept = console.get(f"/inbox/{first.conversation_id}").text
    merged = console.get(f"/inbox/{second.conversation_id}").text
    # then each links to the other, and only the one that lives on can be written to
    assert f'href="/inbox/{second.conversation_id}"' in kept and 'id="composer"' in kept
    assert f'href="/inbox/{first.conversation_id}"' in merged and 'id="composer"' not in merged
    assert "我的包裹到了吗" in merged
