"""The order timeline names what changed and who did it, cancel reasons are codes worded in the
reader's language, and the console asks before shipping an order not marked paid."""

from __future__ import annotations

import html
import re
import uuid

import pytest

from shangliao.auth import service as auth
from tests.support.catalog import make_product
from tests.support.chat import guest_client
from tests.support.orders import ADDRESS, act, make_order, variant_stock
from tests.test_console import HTMX, sign_in


@pytest.fixture
def tee(runtime, shop):
    return make_product(runtime, shop, name="纯棉T恤", stock=20, price=5900)


def timeline(console, order_id: int) -> list[str]:
    """The order page's timeline rows as a reader sees them (tags stripped, spaces squeezed)."""
    page = console.get(f"/orders/{order_id}")
    assert page.status_code == 200, page.text
    listed = re.search(r'<ol class="timeline">(.*?)</ol>', page.text, re.S).group(1)
    rows = re.findall(r"<li[^>]*>(.*?)</li>", listed, re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", "", row)).split()) for row in rows]


def colleague(runtime, shop, username: str, name: str) -> int:
    """A colleague of the shop; usernames are unique across shops, so each gets a suffix."""
    with runtime.db.write() as session:
        return auth.do_create_staff(
            session,
            shop.id,
            username=f"{username}_{uuid.uuid4().hex[:8]}",
            password="long enough pw",
            display_name=name,
        ).id


def test_the_timeline_names_the_tags_and_the_assignees_that_changed(app, runtime, shop, tee):
    # given an order, two colleagues, and tags being put on and taken off
    order = make_order(shop, [(tee.variant_id, 1)])
    wang, li = colleague(runtime, shop, "xiaowang", "小王"), colleague(runtime, shop, "xiaoli", "小李")
    url = f"/api/v1/orders/{order['id']}"
    assert shop.api.post(f"{url}/tags", json={"add": ["加急", "VIP"]}).status_code == 200
    assert shop.api.post(f"{url}/tags", json={"remove": ["加急"]}).status_code == 200
    # when the order is handed from nobody to 小王, then from 小王 to 小李
    assert shop.api.put(f"{url}/assignee", json={"assignee_id": wang}).status_code == 200
    assert shop.api.put(f"{url}/assignee", json={"assignee_id": li}).status_code == 200

    # then the timeline says what changed, in the reader's language
    rows = timeline(sign_in(app, shop), order["id"])
    assert any(r.startswith("标签变更: 添加：加急、VIP ") for r in rows), rows
    assert any(r.startswith("标签变更: 移除：加急 ") for r in rows), rows
    assert any(r.startswith("更换负责人: 无人 → 小王 ") for r in rows), rows
    assert any(r.startswith("更换负责人: 小王 → 小李 ") for r in rows), rows
    english = timeline(sign_in(app, shop, lang="en"), order["id"])
    assert any(r.startswith("Tags changed: Added: 加急、VIP ") for r in english), english
    assert any(r.startswith("Assignee changed: Nobody → 小王 ") for r in english), english


def test_an_order_the_customer_placed_is_credited_to_the_customer(app, runtime, shop, tee):
    # given a customer who orders from a product link on their phone
    phone = guest_client(app, shop, "小红", "13700001234")
    token = shop.api.get(f"/api/v1/products/{tee.product_id}").json()["share_token"]
    body = {"token": token, "variant_id": tee.variant_id, "quantity": 1, "address": ADDRESS}
    r = phone.post(f"/s/{shop.slug}/api/orders", json=body)
    assert r.status_code == 201, r.text

    # when staff read the order's timeline
    rows = timeline(sign_in(app, shop), r.json()["order"]["id"])

    # then its creation is the customer's, by name, not the API's nor a staff member's
    created = rows[0]
    assert "客户 小红 ·" in created, rows
    assert "接口" not in created and shop.owner_username not in created


def test_a_cancel_reason_is_a_code_worded_for_each_reader(app, shop, tee):
    # given an order cancelled through the API with a reason code
    order = make_order(shop, [(tee.variant_id, 1)])
    cancelled = act(shop, order, "cancel", reason="out_of_stock")
    # then the code is what is kept
    assert cancelled["cancel_reason"] == "out_of_stock" and cancelled["cancel_note"] is None
    # and each reader sees it in their language, on the order and in its timeline
    zh = sign_in(app, shop).get(f"/orders/{order['id']}").text
    assert "取消原因：缺货" in zh and "原因：缺货" in " ".join(timeline(sign_in(app, shop), order["id"]))
    en = sign_in(app, shop, lang="en").get(f"/orders/{order['id']}").text
    assert "Cancelled because: Out of stock" in en
    assert "Reason: Out of stock" in " ".join(timeline(sign_in(app, shop, lang="en"), order["id"]))


def test_another_reason_keeps_the_words_typed(app, shop, tee):
    order = make_order(shop, [(tee.variant_id, 1)])
    # when staff cancel from the order page with "other" and their own words
    r = sign_in(app, shop).post(
        f"/orders/{order['id']}/do/cancel",
        data={"version": order["version"], "reason": "other", "other_reason": "客户地址填错了"},
        headers=HTMX,
    )
    # then the words are kept with the code, and shown as typed
    assert r.status_code == 200 and "取消原因：客户地址填错了" in r.text
    stored = shop.api.get(f"/api/v1/orders/{order['id']}").json()
    assert (stored["cancel_reason"], stored["cancel_note"]) == ("other", "客户地址填错了")


@pytest.mark.parametrize(
    ("params", "code", "says"),
    [
        ({"reason": "不想要了"}, "order.unknown_cancel_reason", "Use one of: changed_mind, out_of_stock"),
        ({"reason": "other"}, "order.cancel_reason_note_required", "in a few words"),
    ],
)
def test_an_unknown_cancel_reason_is_refused_and_changes_nothing(shop, tee, params, code, says):
    order = make_order(shop, [(tee.variant_id, 2)])
    # when an integrator cancels with words instead of a code, or "other" without words
    r = shop.api.post(f"/api/v1/orders/{order['id']}/cancel", json=params, headers={"Accept-Language": "en"})
    # then it is refused with a clear error naming what is accepted
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == code and says in r.json()["error"]["message"]
    # and nothing changed: the order is still pending, its stock still held
    assert shop.api.get(f"/api/v1/orders/{order['id']}").json()["status"] == "pending"
    assert variant_stock(shop, tee.product_id, tee.variant_id)["reserved"] == 2


def test_the_console_asks_before_shipping_an_unpaid_order_and_the_api_ships_it(app, shop, tee):
    order = act(shop, make_order(shop, [(tee.variant_id, 1)]), "confirm")
    console = sign_in(app, shop)
    # the ship dialog of an order not marked paid says so and wants a tick
    page = console.get(f"/orders/{order['id']}").text
    assert "该订单尚未标记为已付款：还有 ¥59.00 未付。" in page
    assert re.search(r'<input type="checkbox" name="ship_unpaid" value="1" required>', page)
    # when staff ship it without the tick (a form sent some other way), it is refused
    ship = {"version": order["version"], "carrier_code": "SF", "tracking_number": "SF1234567890"}
    r = console.post(f"/orders/{order['id']}/do/ship", data=ship, headers=HTMX)
    assert r.status_code == 409 and "未付款也发货" in r.text
    assert shop.api.get(f"/api/v1/orders/{order['id']}").json()["status"] == "confirmed"
    # and with the tick it ships
    r = console.post(f"/orders/{order['id']}/do/ship", data={**ship, "ship_unpaid": "1"}, headers=HTMX)
    assert r.status_code == 200 and 'data-status="shipped"' in r.text
    # while the API ships an unpaid order as asked (paid on delivery, or elsewhere)
    other = act(shop, make_order(shop, [(tee.variant_id, 1)]), "confirm")
    shipped = act(shop, other, "ship", carrier_code="SF", tracking_number="SF1234567891")
    assert shipped["status"] == "shipped" and shipped["paid_amount"] == 0
