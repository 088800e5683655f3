"""An order sent in two parcels, as each page reads it (issue 13's walkthrough): the customer's top
card lists every parcel's number and leaves 确认收货 to each parcel, the staff page says 部分发货 and
继续发货 once a parcel left, both timelines read the parcels (and the customer's the after-sales
steps), the 物流 line and the chat card name every number, and the parcels box sends the tracking
card into the order's chat, which ticks the dispute checkpoint."""

from __future__ import annotations

import html as html_lib

import pytest

from shangliao.orders.models import Order
from shangliao.realtime.feed import order_card_state
from tests.support.access import SHIP
from tests.support.aftersales import buy
from tests.support.catalog import make_product
from tests.support.console import HTMX
from tests.support.customers import make_customer
from tests.support.orders import act, make_order

ZTO = {"carrier_code": "ZTO", "tracking_number": "ZT9876543210"}


def ship_one(shop, order: dict, courier: dict):
    """A parcel of one of the order's first line."""
    line = {"order_item_id": order["items"][0]["id"], "quantity": 1}
    r = shop.api.post(f"/api/v1/orders/{order['id']}/parcels", json={**courier, "items": [line]})
    assert r.status_code == 201, r.text
    return r.json()["parcels"]


@pytest.fixture
def bought(runtime, app, shop):
    """The customer's paid order of 2 sweaters from a product link (so it has its conversation),
    confirmed, nothing shipped yet."""
    b = buy(runtime, app, shop, quantity=2, ship=False)
    b.order = act(shop, b.order, "confirm")
    return b


def page_of(guest, shop, order: dict) -> str:
    r = guest.get(f"/s/{shop.slug}/orders/{order['id']}")
    assert r.status_code == 200, r.text
    return html_lib.unescape(r.text)


def top_card(page: str) -> str:
    return page.split('<section class="panel">', 1)[1].split("</section>", 1)[0]


def progress(page: str) -> str:
    return page.split('id="timeline"', 1)[1].split("</ol>", 1)[0]


def test_the_customers_top_card_lists_every_parcel_and_leaves_receipt_to_each(shop, bought):
    # given the order shipped in two parcels
    ship_one(shop, bought.order, SHIP)
    ship_one(shop, bought.order, ZTO)

    # when the customer opens the order page
    card = top_card(page_of(bought.guest, shop, bought.order))

    # then the top card names both parcels' couriers and numbers, and has no whole-order 确认收货
    assert "分 2 个包裹发出，见下方" in card
    assert f"顺丰速运 {SHIP['tracking_number']}（包裹1）、中通快递 {ZTO['tracking_number']}（包裹2）" in card
    assert 'id="receipt"' not in card


def test_an_order_shipped_whole_keeps_its_top_card_receipt(shop, bought):
    # given the order shipped in one parcel
    act(shop, bought.order, "ship", **SHIP)

    # when the customer opens the order page
    card = top_card(page_of(bought.guest, shop, bought.order))

    # then the top card keeps its courier line and its own 确认收货
    assert SHIP["tracking_number"] in card and 'id="receipt"' in card
    assert "个包裹发出" not in card


def test_the_customers_progress_reads_parcels_receipts_and_aftersales(shop, bought):
    # given two parcels shipped, the first signed for by the customer, a staff note on the order,
    # and a refund-only request approved and refunded
    first = ship_one(shop, bought.order, SHIP)[0]
    ship_one(shop, bought.order, ZTO)
    r = bought.guest.post(f"/s/{shop.slug}/api/orders/{bought.order['id']}/parcels/{first['id']}/receipt")
    assert r.status_code == 200, r.text
    note = shop.api.post(f"/api/v1/orders/{bought.order['id']}/notes", json={"body": "内部备注勿外传"})
    assert note.status_code in (200, 201), note.text
    line = {"order_item_id": bought.lines[0]["id"], "quantity": 1}
    asked = bought.asked(kind="refund_only", reason="unwanted", lines=[line])
    bought.done(asked, "approve", message="同意，仅员工可见的说明")
    bought.done(asked, "refund", method="wechat")

    # when the customer opens the order page
    steps = progress(page_of(bought.guest, shop, bought.order))

    # then 订单进度 reads each parcel leaving, the last one shipping the whole order, the receipt
    # and each after-sales step with the money back, in that order
    wanted = [
        f"包裹1已发出（顺丰速运 {SHIP['tracking_number']}）",
        f"包裹2已发出（中通快递 {ZTO['tracking_number']}），订单已全部发出",
        "包裹1已签收",
        "售后申请已提交",
        "售后申请已同意",
        "退款已到账 ¥50.00",
    ]
    at = [steps.find(text) for text in wanted]
    assert all(i >= 0 for i in at), (wanted, steps)
    assert at == sorted(at)
    # ... and nothing of the staff's: the note, the approval message, the reason
    assert "内部备注" not in steps and "仅员工可见" not in steps and "unwanted" not in steps


def test_the_customers_order_api_steps_carry_no_staff_ids(shop, bought):
    # given an after-sales request on a shipped order
    act(shop, bought.order, "ship", **SHIP)
    line = {"order_item_id": bought.lines[0]["id"], "quantity": 1}
    bought.asked(kind="refund_only", reason="unwanted", lines=[line])

    # when the customer's phone reads the order
    r = bought.guest.get(f"/s/{shop.slug}/api/orders/{bought.order['id']}")

    # then the request's step is there, as a code and a time, with no row ids or staff names
    assert r.status_code == 200, r.text
    step = next(s for s in r.json()["timeline"] if s["kind"] == "aftersale")
    assert step["aftersale_step"] == "requested"
    assert set(step) == {"kind", "status", "by", "at", "delivery", "amount", "seq", "aftersale_step"}


def test_the_staff_page_says_partly_shipped_and_continue_shipping(console, shop, bought):
    # given the first of two sweaters shipped
    ship_one(shop, bought.order, SHIP)

    # when the owner opens the order
    r = console.get(f"/orders/{bought.order['id']}")

    # then the header says 部分发货 beside the status, the ship button reads 继续发货 and 开始备货
    # is gone
    assert r.status_code == 200, r.text
    header = r.text.split('<header class="detail-head">', 1)[1].split("</header>", 1)[0]
    actions = r.text.split('<div class="actions">', 1)[1].split("</div>", 1)[0]
    assert "status-partly-shipped" in header and "部分发货" in header
    assert "继续发货" in actions and "开始备货" not in actions
    assert ">发货<" not in actions


def test_the_staff_page_before_any_parcel_offers_preparing_and_shipping(console, shop, bought):
    # given a confirmed order with nothing shipped
    # when the owner opens it
    r = console.get(f"/orders/{bought.order['id']}")

    # then 开始备货 and 发货 are offered, and no 部分发货
    actions = r.text.split('<div class="actions">', 1)[1].split("</div>", 1)[0]
    assert "开始备货" in actions and "发货" in actions and "继续发货" not in actions
    assert "status-partly-shipped" not in r.text.split("</header>", 1)[0]


def test_the_staff_timeline_reads_the_last_parcel_and_the_tracking_names_both(console, shop, bought):
    # given the order shipped in two parcels
    ship_one(shop, bought.order, SHIP)
    ship_one(shop, bought.order, ZTO)

    # when the owner opens the order
    page = html_lib.unescape(console.get(f"/orders/{bought.order['id']}").text)

    # then the last parcel's step reads as that parcel leaving and the order shipped whole
    timeline = page.split("order-detail", 1)[1].split('<ol class="timeline">', 1)[1]
    assert "最后一个包裹已发出，订单全部发货" in timeline and "包裹 2" in timeline
    last = timeline.split('<li class="event-status">')[-1].split("</li>", 1)[0]
    assert "最后一个包裹已发出" in last and ZTO["tracking_number"] in last
    # ... and the 物流 line names both parcels' numbers
    tracking = page.split('class="trackings"', 1)[1].split("</p>", 1)[0]
    assert SHIP["tracking_number"] in tracking and ZTO["tracking_number"] in tracking
    assert "（包裹1）、" in tracking and "（包裹2）" in tracking


def test_the_order_card_state_and_the_customers_order_count_the_parcels(runtime, shop, bought):
    # given the order shipped in two parcels
    ship_one(shop, bought.order, SHIP)
    ship_one(shop, bought.order, ZTO)

    # when the chat card's live state and the customer's order are read
    with runtime.db.read() as session:
        state = order_card_state(session.get(Order, bought.order["id"]))
    public = bought.guest.get(f"/s/{shop.slug}/api/orders/{bought.order['id']}").json()

    # then both say two parcels left, so the cards read every parcel's number (inbox.js, shop.js)
    assert state["parcels_shipped"] == 2 and public["parcels_shipped"] == 2


def parcels_box(page: str) -> str:
    return page.split('id="order-parcels"', 1)[1].split("</section>", 1)[0]


def tracking_checkpoint(page: str) -> str:
    return page.split('data-checkpoint="tracking"', 1)[1].split("</li>", 1)[0]


def test_the_parcels_box_sends_the_tracking_card_and_ticks_the_checkpoint(console, shop, bought):
    # given the order shipped in two parcels, nothing of it sent to the chat
    ship_one(shop, bought.order, SHIP)
    ship_one(shop, bought.order, ZTO)
    page = console.get(f"/orders/{bought.order['id']}").text
    assert "发送物流信息到聊天" in parcels_box(page)
    assert "✓" not in tracking_checkpoint(page)

    # when the owner presses 发送物流信息到聊天
    r = console.post(f"/orders/{bought.order['id']}/checkpoints/tracking", headers=HTMX)

    # then the checkpoint is done, and the customer's chat has the card with both numbers
    assert r.status_code == 200, r.text
    assert "✓" in tracking_checkpoint(console.get(f"/orders/{bought.order['id']}").text)
    messages = bought.guest.get(f"/s/{shop.slug}/api/messages").json()
    card = next(m for m in messages if m["data"].get("checkpoint") == "tracking")
    assert card["body"] == "您的订单分 2 个包裹发出，各包裹的物流单号如下。"
    assert [p["tracking_number"] for p in card["data"]["parcels"]] == [
        SHIP["tracking_number"],
        ZTO["tracking_number"],
    ]


def test_a_partly_shipped_order_may_send_its_first_parcels_tracking(console, shop, bought):
    # given the first of two sweaters shipped
    ship_one(shop, bought.order, SHIP)

    # when the owner opens the order
    page = console.get(f"/orders/{bought.order['id']}").text

    # then the parcels box offers to send it already
    assert "发送物流信息到聊天" in parcels_box(page)


def test_without_a_conversation_the_parcels_box_offers_no_sending(runtime, console, shop):
    # given a customer's order made by staff, the customer never chatted, shipped in two parcels
    shirt = make_product(runtime, shop, name="衬衫", stock=10)
    customer_id, _ = make_customer(runtime, shop, name="李四", phone="13900002222")
    order = act(shop, make_order(shop, [(shirt.variant_id, 2)], customer_id=customer_id), "confirm")
    ship_one(shop, order, SHIP)
    ship_one(shop, order, ZTO)

    # when the owner opens it
    page = console.get(f"/orders/{order['id']}").text

    # then the parcels box has no 发送物流信息到聊天
    assert "发送物流信息到聊天" not in parcels_box(page)


def test_the_ship_dialog_ships_an_unpaid_order_with_its_checkbox_ticked(console, shop, tee):
    # given a confirmed order nobody paid yet
    order = act(shop, make_order(shop, [(tee.variant_id, 2)]), "confirm")
    line = order["items"][0]["id"]

    # when the dialog posts 1 of the 2 shirts with 不收款也发货 ticked (ship_unpaid is no quantity)
    form = {"version": order["version"], **SHIP, f"ship_{line}": "1", "ship_unpaid": "1"}
    r = console.post(f"/orders/{order['id']}/parcels", data=form, headers=HTMX)

    # then the parcel left with that one shirt
    assert r.status_code == 200, r.text
    parcels = shop.api.get(f"/api/v1/orders/{order['id']}/parcels").json()["parcels"]
    assert [(p["tracking_number"], p["items"][0]["quantity"]) for p in parcels] == [
        (SHIP["tracking_number"], 1)
    ]
