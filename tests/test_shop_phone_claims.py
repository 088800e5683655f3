"""A phone number typed on the shop page proves nothing (issue 10, "Credentials mean what they say").

A new device with a known customer's phone gets a customer and a conversation of its own; staff see
whom it says it is and link it with one click, after which it is one of that customer's devices.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.support.chat import guest_client, guest_says
from tests.support.orders import make_order
from tests.support.phone_claims import (  # noqa: F401 (fixtures)
    PHONE,
    ask_code,
    counts,
    link,
    link_order,
    my_order_ids,
    outbox_fixture,
    owner_fixture,
    send_code,
    shipped_order,
    staff_history,
    tee_fixture,
    texted_code,
    texts,
    wrong,
)


def test_a_new_device_with_a_known_phone_gets_its_own_conversation_and_nothing_of_theirs(
    app, shop, tee, owner
):
    # given 张三, who chats from their phone
    guest_says(shop, owner, "我的地址是文三路100号")
    # when someone else types 张三's number on another phone
    stranger = guest_client(app, shop, "张三", PHONE)
    # and 张三 then has an order shipped
    placed = shipped_order(shop, tee, owner.customer_id)

    # then it sees none of 张三's orders, and cannot say 张三's parcel arrived
    assert my_order_ids(stranger, shop) == []
    assert stranger.get(f"/s/{shop.slug}/api/orders/{placed['id']}").status_code == 404
    assert stranger.get(f"/s/{shop.slug}/orders/{placed['id']}").status_code == 404
    refused = stranger.post(f"/s/{shop.slug}/api/orders/{placed['id']}/receipt")
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "order.not_found"
    assert shop.api.get(f"/api/v1/orders/{placed['id']}").json()["status"] == "shipped"
    # for that phone is a customer of its own, in a conversation of its own
    assert stranger.customer_id != owner.customer_id
    assert stranger.conversation_id != owner.conversation_id
    # and what it writes reaches the shop there, never 张三's phone
    guest_says(shop, stranger, "我是张三")
    assert staff_history(shop, owner.conversation_id) == ["我的地址是文三路100号"]
    assert staff_history(shop, stranger.conversation_id) == ["我是张三"]
    assert [m["body"] for m in owner.get(f"/s/{shop.slug}/api/messages").json()] == ["我的地址是文三路100号"]
    # while 张三's own phone still confirms receipt
    assert owner.post(f"/s/{shop.slug}/api/orders/{placed['id']}/receipt").status_code == 200


def test_the_known_customer_keeps_their_phone_and_the_device_says_it_awaits_the_shop(
    app, runtime, shop, owner
):
    # when a second phone introduces itself with 张三's number
    client = TestClient(app, raise_server_exceptions=False)
    r = client.post(f"/s/{shop.slug}/api/visitor", json={"name": "张三", "phone": PHONE})
    # then its customer has no phone, and the page says a known number waits to be confirmed
    assert r.status_code == 200, r.text
    theirs = shop.api.get(f"/api/v1/customers/{r.json()['customer_id']}").json()
    assert theirs["name"] == "张三" and theirs["phones"] == []
    kept = shop.api.get(f"/api/v1/customers/{owner.customer_id}").json()
    assert [p["phone"] for p in kept["phones"]] == [PHONE]
    assert "确认" in client.get(f"/s/{shop.slug}").text  # the page says the shop will confirm
    # while a phone nobody has is simply the new customer's
    fresh = TestClient(app, raise_server_exceptions=False)
    r = fresh.post(f"/s/{shop.slug}/api/visitor", json={"name": "李四", "phone": "13900001111"})
    assert [
        p["phone"] for p in shop.api.get(f"/api/v1/customers/{r.json()['customer_id']}").json()["phones"]
    ] == ["13900001111"]


def test_staff_see_whom_the_device_says_it_is_in_the_api_and_the_inbox(app, shop, owner):
    # given a second phone that typed 张三's number, under another name
    stranger = guest_client(app, shop, "小张", PHONE)
    guest_says(shop, stranger, "在吗")

    # when staff open its conversation
    answer = shop.api.get(f"/api/v1/conversations/{stranger.conversation_id}").json()
    panel = shop.api.get(f"/inbox/{stranger.conversation_id}/panel")

    # then they see the claim: 张三, by id, name and masked number; the real conversation has none
    assert answer["claims"] == [{"customer_id": owner.customer_id, "name": "张三", "phone": "138****5678"}]
    assert shop.api.get(f"/api/v1/conversations/{owner.conversation_id}").json()["claims"] == []
    assert panel.status_code == 200
    assert "自称是 张三（138****5678）" in panel.text
    assert f'data-link-claim="{owner.customer_id}"' in panel.text
    assert PHONE not in panel.text and PHONE not in str(answer)
    # and the inbox list marks its row, not 张三's
    rows = shop.api.get("/inbox").text
    mine, theirs = (
        rows.split(f'id="row-{i}"')[1].split("</li>")[0]
        for i in (stranger.conversation_id, owner.conversation_id)
    )
    assert "自称是老客户" in mine and "自称是老客户" not in theirs


def test_linking_makes_the_device_one_of_the_customers_devices(app, runtime, shop, tee, owner):
    # given 张三's order placed before a second phone appeared, which is not that phone's business
    before = make_order(shop, [(tee[0].variant_id, 1)], customer_id=owner.customer_id)
    guest_says(shop, owner, "早")
    # and the second phone, which typed 张三's number, ordered and wrote from its own conversation
    device = guest_client(app, shop, "张三", PHONE)
    own = link_order(device, shop, tee)
    guest_says(shop, device, "换了新手机")
    # and 张三 had an order shipped since
    since = shipped_order(shop, tee, owner.customer_id)
    customers_before, _ = counts(runtime, shop)

    # when staff link it
    r = link(shop, device.conversation_id)

    # then there is one customer, in one conversation with both histories, and no claim left
    assert r.status_code == 200, r.text
    assert r.json()["id"] == owner.conversation_id and r.json()["customer_id"] == owner.customer_id
    assert r.json()["merged_ids"] == [device.conversation_id]
    assert counts(runtime, shop) == (customers_before - 1, 0)
    assert shop.api.get(f"/api/v1/orders/{own['id']}").json()["customer_id"] == owner.customer_id
    assert shop.api.get(f"/api/v1/conversations/{owner.conversation_id}").json()["claims"] == []
    # and the device sees the orders placed since it joined (its own, and 张三's), not older ones
    assert sorted(my_order_ids(device, shop)) == sorted([own["id"], since["id"]])
    assert device.get(f"/s/{shop.slug}/api/orders/{before['id']}").status_code == 404
    # and acts on them, and writes into 张三's conversation, which 张三's phone sees
    assert device.post(f"/s/{shop.slug}/api/orders/{since['id']}/receipt").status_code == 200
    guest_says(shop, device, "收到了")
    assert staff_history(shop, owner.conversation_id) == ["早", "收到了"]
    assert [m["body"] for m in owner.get(f"/s/{shop.slug}/api/messages").json()] == ["早", "收到了"]


def test_a_device_merged_by_hand_into_the_claimed_customer_no_longer_waits(app, shop, owner):
    # given a phone that typed 张三's number
    device = guest_client(app, shop, "张三", PHONE)
    assert shop.api.get(f"/api/v1/conversations/{device.conversation_id}").json()["claims"] != []
    # when staff merge its customer into 张三 from the customer page instead of linking
    merged = shop.api.post(
        f"/api/v1/customers/{owner.customer_id}/merge", json={"other_id": device.customer_id}
    )
    assert merged.status_code == 200, merged.text
    # then there is nothing left for staff to confirm
    assert shop.api.get(f"/api/v1/conversations/{owner.conversation_id}").json()["claims"] == []
    r = link(shop, owner.conversation_id)
    assert r.status_code == 409 and r.json()["error"]["code"] == "chat.no_claim"


def test_linking_a_conversation_with_no_claim_is_refused(shop, runtime, owner):
    # given 张三's own conversation, where nobody claims to be anyone else
    before = counts(runtime, shop)
    # when staff try to link it
    r = link(shop, owner.conversation_id)
    # then it is refused with a clear code, and nothing changes
    assert r.status_code == 409 and r.json()["error"]["code"] == "chat.no_claim"
    assert counts(runtime, shop) == before


def test_linking_to_a_customer_who_no_longer_has_the_phone_is_refused(app, runtime, shop, owner):
    # given a phone that typed 张三's number, and then staff took the number off 张三
    device = guest_client(app, shop, "张三", PHONE)
    phone_id = shop.api.get(f"/api/v1/customers/{owner.customer_id}").json()["phones"][0]["id"]
    assert shop.api.delete(f"/api/v1/customers/{owner.customer_id}/phones/{phone_id}").status_code == 204
    before = counts(runtime, shop)

    # when staff link it (to 张三 by name, or to whoever the claim names)
    named = link(shop, device.conversation_id, customer_id=owner.customer_id)
    only = link(shop, device.conversation_id)

    # then both are refused: the claim no longer leads to 张三; nothing changes
    for r in (named, only):
        assert r.status_code == 409 and r.json()["error"]["code"] == "chat.claim_stale", r.text
    assert counts(runtime, shop) == before
    assert shop.api.get(f"/api/v1/conversations/{device.conversation_id}").json()["claims"] == []


def test_linking_to_someone_the_device_never_claimed_is_refused(app, runtime, shop, owner):
    # given a phone that claims 张三, and 李四, whom nobody claims
    device = guest_client(app, shop, "张三", PHONE)
    other = guest_client(app, shop, "李四", "13900001111")
    before = counts(runtime, shop)
    # when staff try to link it to 李四, then it is refused and nothing changes
    r = link(shop, device.conversation_id, customer_id=other.customer_id)
    assert r.status_code == 409 and r.json()["error"]["code"] == "chat.claim_stale"
    assert counts(runtime, shop) == before


def test_linking_needs_the_permission_a_merge_needs(app, runtime, shop, owner):
    # given staff whose token reads and writes chat but may not merge customers
    token = shop.api.post(
        "/api/v1/auth/tokens", json={"name": "chat only", "scopes": ["chat.read", "chat.write"]}
    ).json()["token"]
    chat_only = TestClient(app, headers={"Authorization": f"Bearer {token}"}, raise_server_exceptions=False)
    device = guest_client(app, shop, "张三", PHONE)
    before = counts(runtime, shop)
    # when they try to link, then it is forbidden and nothing changes
    r = chat_only.post(f"/api/v1/conversations/{device.conversation_id}/link-claimed")
    assert r.status_code == 403 and r.json()["error"]["code"] == "auth.forbidden"
    assert counts(runtime, shop) == before
    # and they are not shown another customer's number either
    assert chat_only.get(f"/api/v1/conversations/{device.conversation_id}").json()["claims"] == []


def test_another_shops_conversation_is_not_found(app, shop, other_shop, owner):
    device = guest_client(app, shop, "张三", PHONE)
    r = other_shop.api.post(f"/api/v1/conversations/{device.conversation_id}/link-claimed")
    assert r.status_code == 404


# --- a code by SMS links the device by itself -------------------------------------------------------


def test_the_code_texted_to_the_phone_links_the_device(app, runtime, shop, tee, owner, outbox):
    # given a second phone that typed 张三's number, and then 张三's order shipped
    device = guest_client(app, shop, "张三", PHONE)
    since = shipped_order(shop, tee, owner.customer_id)
    assert my_order_ids(device, shop) == []
    # when it asks for a code, which is texted to 张三's number
    asked = ask_code(device, shop)
    assert asked.status_code == 200, asked.text
    assert asked.json() == {"expires_in": 600}
    assert [t["phone"] for t in texts(outbox)] == [PHONE]
    # and sends back what the text says
    r = send_code(device, shop, texted_code(outbox))
    # then the device is 张三's, with no claim left, and sees 张三's order placed since it joined
    assert r.status_code == 200, r.text
    assert r.json() == {"customer_id": owner.customer_id, "conversation_id": owner.conversation_id}
    assert counts(runtime, shop)[1] == 0
    assert my_order_ids(device, shop) == [since["id"]]
    guest_says(shop, device, "验证好了")
    assert staff_history(shop, owner.conversation_id) == ["验证好了"]
    # and the code cannot be used again
    again = send_code(device, shop, texted_code(outbox))
    assert again.status_code == 409 and again.json()["error"]["code"] == "sms.no_code"


def test_five_wrong_codes_use_the_code_up(app, runtime, shop, owner, outbox):
    device = guest_client(app, shop, "张三", PHONE)
    assert ask_code(device, shop).status_code == 200
    code = texted_code(outbox)
    before = counts(runtime, shop)

    tries = [send_code(device, shop, wrong(code)) for _ in range(5)]
    right_too_late = send_code(device, shop, code)

    assert [
        (r.status_code, r.json()["error"]["code"], r.json()["error"]["details"]["left"]) for r in tries
    ] == [(422, "sms.code_wrong", left) for left in (4, 3, 2, 1, 0)]
    assert right_too_late.status_code == 429
    assert right_too_late.json()["error"]["code"] == "sms.code_locked"
    assert counts(runtime, shop) == before  # still a customer of its own, still a claim


def test_an_expired_code_is_refused(app, runtime, shop, owner, outbox, frozen):
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    frozen(start)
    device = guest_client(app, shop, "张三", PHONE)
    assert ask_code(device, shop).status_code == 200
    before = counts(runtime, shop)

    frozen(start + timedelta(minutes=10, seconds=1))
    r = send_code(device, shop, texted_code(outbox))

    assert r.status_code == 409 and r.json()["error"]["code"] == "sms.code_expired"
    assert counts(runtime, shop) == before


def test_without_a_gateway_no_code_is_offered_or_sent(app, runtime, shop, owner):
    # given the default set-up: no SMS gateway
    assert runtime.settings.sms_gateway == ""
    device = guest_client(app, shop, "张三", PHONE)
    # when the device asks for a code, or sends one, then both say so clearly
    for r in (ask_code(device, shop), send_code(device, shop, "123456")):
        assert r.status_code == 409 and r.json()["error"]["code"] == "sms.not_configured", r.text
    # and the shop page does not offer it
    assert 'id="claim-code"' not in device.get(f"/s/{shop.slug}").text


def test_the_shop_page_offers_a_code_to_a_claiming_device_when_sms_is_set_up(app, shop, owner, outbox):
    device = guest_client(app, shop, "张三", PHONE)
    page = device.get(f"/s/{shop.slug}").text
    assert 'id="claim-code"' in page and "发送验证码" in page


def test_codes_are_rate_limited_per_device_and_per_number(app, shop, owner, outbox):
    from shangliao.storefront.claims_api import CODES_PER_DEVICE, CODES_PER_PHONE

    per_device, per_phone = (int(rules[0].split("/")[0]) for rules in (CODES_PER_DEVICE, CODES_PER_PHONE))
    # given one device that asked as often as a device may
    device = guest_client(app, shop, "张三", PHONE)
    for _ in range(per_device):
        assert ask_code(device, shop).status_code == 200
    # when it asks again, then it is refused, and nothing more is texted
    refused = ask_code(device, shop)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate.limited"
    # and when more devices typing the same number ask, the number's own limit stops them too
    others = [guest_client(app, shop, f"张三{i}", PHONE) for i in range(per_phone - per_device + 1)]
    answers = [ask_code(other, shop).status_code for other in others]
    assert answers == [200] * (per_phone - per_device) + [429]
    assert len(texts(outbox)) == per_phone


def test_with_two_claims_staff_choose_whom_to_link(app, runtime, shop, owner):
    # given two devices claiming two customers, whose own customers staff merged into one
    other = guest_client(app, shop, "李四", "13900001111")
    first = guest_client(app, shop, "张三", PHONE)
    second = guest_client(app, shop, "李四", "13900001111")
    merged = shop.api.post(
        f"/api/v1/customers/{first.customer_id}/merge", json={"other_id": second.customer_id}
    )
    assert merged.status_code == 200, merged.text
    claimed = shop.api.get(f"/api/v1/conversations/{first.conversation_id}").json()["claims"]
    assert [c["customer_id"] for c in claimed] == sorted([owner.customer_id, other.customer_id])
    before = counts(runtime, shop)
    # when staff link without saying to whom, then they are asked to choose, and nothing changes
    unsure = link(shop, first.conversation_id)
    assert unsure.status_code == 422 and unsure.json()["error"]["code"] == "chat.claim_ambiguous"
    assert counts(runtime, shop) == before
    # when they name 张三, then the devices are 张三's, and the claim on 李四 remains to be looked at
    chosen = link(shop, first.conversation_id, customer_id=owner.customer_id)
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["customer_id"] == owner.customer_id
    left = shop.api.get(f"/api/v1/conversations/{owner.conversation_id}").json()["claims"]
    assert [c["customer_id"] for c in left] == [other.customer_id]
