"""After-sales requests whose money went back outside their own refund step (a plain refund, or a
provider's refund notification, which names no request): linked to that refund or closed with
no money, never refunded twice; and what an exchange may name as the replacement."""

from __future__ import annotations

from sqlalchemy import select

from shangliao.orders.models import Order, Refund
from tests.support.aftersales import RETURN, buy
from tests.support.catalog import make_product
from tests.support.team import make_member


def line(bought, index: int = 0, quantity: int | None = None, **extra) -> dict:
    item = bought.lines[index]
    return {"order_item_id": item["id"], "quantity": quantity or item["quantity"], **extra}


def returned(bought, index: int = 0) -> dict:
    """A return request on line ``index``, approved and back at the shop."""
    asked = bought.asked(kind="return_refund", reason="size", lines=[line(bought, index)])
    bought.done(asked, "approve")
    assert bought.guest_step(asked, "return", **RETURN).status_code == 200
    bought.done(asked, "arrived", lines=[{"line_id": asked["lines"][0]["id"], "restock": True}])
    return asked


def plain_refund(runtime, bought, amount: int) -> int:
    """A refund recorded on the order, naming no request (what a verified provider refund
    notification records too: payments/notice.py never knows the request); its id."""
    r = bought.shop.api.post(
        f"/api/v1/orders/{bought.order['id']}/refunds", json={"method": "wechat", "amount": amount}
    )
    assert r.status_code == 201, r.text
    with runtime.db.read() as session:
        return session.scalar(
            select(Refund.id).where(Refund.order_id == bought.order["id"]).order_by(Refund.id.desc()).limit(1)
        )


def open_requests(runtime, order_id: int) -> int:
    with runtime.db.read() as session:
        return session.get(Order, order_id).aftersales_open


def refund_rows(runtime, order_id: int) -> list[tuple[int, int | None]]:
    with runtime.db.read() as session:
        rows = session.execute(
            select(Refund.amount, Refund.aftersale_id).where(Refund.order_id == order_id).order_by(Refund.id)
        )
        return [tuple(r) for r in rows]


def test_a_return_refunded_outside_its_request_is_linked_and_the_order_completes(runtime, app, shop):
    # given a return back at the shop, and the whole order refunded as a plain refund
    bought = buy(runtime, app, shop)
    asked = returned(bought)
    paid = bought.order_now()["paid_amount"]
    refund_id = plain_refund(runtime, bought, paid)
    # when the shop tries the request's own refund step
    r = bought.staff_step(asked, "refund", method="wechat")
    # then it is refused, pointing to the refund to link
    error = r.json()["error"]
    assert r.status_code == 409 and error["code"] == "aftersale.refund_already_recorded"
    assert error["details"]["unclaimed_refunds"] == [refund_id] and error["details"]["next"] == "link_refund"
    # when the shop links that refund instead
    linked = bought.done(asked, "link_refund", refund_id=refund_id)
    # then the request is refunded by it, no new money moved, and the order can complete
    assert (linked["status"], linked["refund_id"], linked["open"]) == ("refunded", refund_id, False)
    order = bought.order_now()
    assert (order["refunded_amount"], open_requests(runtime, bought.order["id"])) == (paid, 0)
    assert refund_rows(runtime, bought.order["id"]) == [(paid, asked["id"])]
    r = shop.api.post(f"/api/v1/orders/{bought.order['id']}/complete", json={})
    assert r.status_code == 200, r.text


def test_a_provider_refund_of_a_partial_return_is_not_recorded_twice(runtime, app, shop):
    # given an order of 2 + 1 hoodies (¥150); the 2 come back and ¥100 went back by notification
    bought = buy(runtime, app, shop, extra=1)
    asked = returned(bought)
    refund_id = plain_refund(runtime, bought, 10000)
    # when the request's own refund step would record the ¥100 again
    r = bought.staff_step(asked, "refund", method="wechat")
    # then it is refused and nothing more is refunded
    assert r.status_code == 409 and r.json()["error"]["code"] == "aftersale.refund_already_recorded"
    assert bought.order_now()["refunded_amount"] == 10000
    # and a refund smaller than what the request asked does not block it (e.g. the postage)
    other = buy(runtime, app, shop, extra=1, phone="13900002222")
    other_asked = returned(other)
    plain_refund(runtime, other, 800)
    assert other.done(other_asked, "refund", method="wechat")["status"] == "refunded"
    assert other.order_now()["refunded_amount"] == 10800
    # when the first request is linked, the refund is claimed: a second request cannot take it
    bought.done(asked, "link_refund", refund_id=refund_id)
    second = bought.asked(kind="refund_only", reason="unwanted", lines=[line(bought, 1)])
    bought.done(second, "approve")
    r = bought.staff_step(second, "link_refund", refund_id=refund_id)
    assert r.status_code == 409 and r.json()["error"]["code"] == "aftersale.refund_claimed"
    assert bought.staff_step(second, "link_refund", refund_id=refund_id + 10_000).status_code == 404
    assert shop.api.get(f"/api/v1/aftersales/{second['id']}").json()["status"] == "approved"


def test_a_request_settled_by_hand_is_closed_with_a_word_and_no_money(runtime, app, shop):
    # given a refund-only request, approved
    bought = buy(runtime, app, shop, ship=False)
    asked = bought.asked(kind="refund_only", reason="unwanted", lines=[line(bought)])
    r = bought.staff_step(asked, "close", message="已线下处理")
    assert r.status_code == 409 and r.json()["error"]["code"] == "aftersale.invalid_step"  # not decided yet
    bought.done(asked, "approve")
    # when the shop closes it without a word, or as warehouse staff
    r = bought.staff_step(asked, "close", message="   ")
    assert r.status_code == 422 and r.json()["error"]["code"] == "aftersale.message_required"
    warehouse = make_member(runtime, shop, role="warehouse")
    r = bought.staff_step(asked, "close", client=warehouse, message="已线下处理")
    assert r.status_code == 403 and r.json()["error"]["details"]["permission"] == "payments.refund"
    assert shop.api.get(f"/api/v1/aftersales/{asked['id']}").json()["status"] == "approved"
    # when the owner closes it saying how
    closed = bought.done(asked, "close", message="已线下处理，现金退还")
    # then it is closed with that word, no money recorded, nothing left open
    assert (closed["status"], closed["status_label"], closed["open"]) == (
        "settled_offline",
        "已线下处理",
        False,
    )
    assert closed["staff_message"] == "已线下处理，现金退还" and closed["refund_id"] is None
    order = bought.order_now()
    assert (order["refunded_amount"], open_requests(runtime, bought.order["id"])) == (0, 0)
    # and the customer reads it
    mine = bought.guest.get(f"/s/{shop.slug}/api/aftersales/{asked['id']}")
    assert mine.status_code == 200 and mine.json()["status"] == "settled_offline"


def test_an_exchange_is_for_a_variant_of_the_same_product_at_the_same_price(runtime, app, shop):
    # given a hoodie order, a ¥9,999 phone and a ¥50 cap in the same shop
    bought = buy(runtime, app, shop)
    phone = make_product(runtime, shop, name="手机", options=["颜色"], stock=5, price=999900)
    cap = make_product(runtime, shop, name="帽子", options=["颜色"], stock=5, price=5000)
    # when the customer names another product as the replacement, dear or not
    for other in (phone, cap):
        r = bought.ask(
            kind="exchange", reason="size", lines=[line(bought, replacement_variant_id=other.variant_ids[0])]
        )
        # then it is refused and no request is made
        assert r.status_code == 422 and r.json()["error"]["code"] == "aftersale.replacement_mismatch"
    assert shop.api.get(f"/api/v1/aftersales?order_id={bought.order['id']}").json()["items"] == []
    # when they name the hoodie's other size (same price)
    asked = bought.asked(
        kind="exchange",
        reason="size",
        lines=[line(bought, replacement_variant_id=bought.product.variant_ids[1])],
    )
    # then the request is made
    assert asked["lines"][0]["replacement_variant_id"] == bought.product.variant_ids[1]


def test_the_shop_may_choose_another_replacement_when_approving(runtime, app, shop):
    # given an exchange request for the same hoodie again, and a cap the customer agreed to in chat
    bought = buy(runtime, app, shop)
    cap = make_product(runtime, shop, name="帽子", options=["颜色"], stock=5, price=3000)
    asked = bought.asked(kind="exchange", reason="quality", lines=[line(bought)])
    line_id = asked["lines"][0]["id"]
    # when the shop names a line the request does not have
    r = bought.staff_step(
        asked, "approve", replacements=[{"line_id": line_id + 999, "variant_id": cap.variant_ids[0]}]
    )
    # then nothing changes
    assert r.status_code == 422 and r.json()["error"]["code"] == "aftersale.unknown_line"
    assert shop.api.get(f"/api/v1/aftersales/{asked['id']}").json()["status"] == "requested"
    # when it approves with the cap as the replacement
    approved = bought.done(
        asked, "approve", replacements=[{"line_id": line_id, "variant_id": cap.variant_ids[0]}]
    )
    # then the request sends the cap (the ¥20 difference is settled by hand)
    assert approved["status"] == "awaiting_return"
    assert approved["lines"][0]["replacement_variant_id"] == cap.variant_ids[0]
    # and a refund request names no replacement
    other = buy(runtime, app, shop, phone="13900003333")
    asked = other.asked(kind="return_refund", reason="size", lines=[line(other)])
    r = other.staff_step(
        asked,
        "approve",
        replacements=[{"line_id": asked["lines"][0]["id"], "variant_id": cap.variant_ids[0]}],
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "aftersale.replacement_not_exchange"


def test_the_console_panel_offers_link_and_close_only_when_the_money_went_back_elsewhere(
    runtime, app, shop, console
):
    # given a return back at the shop, nothing refunded yet
    bought = buy(runtime, app, shop)
    asked = returned(bought)
    panel = console.get(f"/orders/{bought.order['id']}/aftersales").text
    # then the panel offers the refund step only
    assert "aftersale-refund" in panel and "aftersale-link" not in panel and "aftersale-close" not in panel
    # when the whole order is refunded as a plain refund
    refund_id = plain_refund(runtime, bought, bought.order_now()["paid_amount"])
    panel = console.get(f"/orders/{bought.order['id']}/aftersales").text
    # then it offers to link that refund or to close the request
    assert f'<option value="{refund_id}">' in panel and "关联这笔退款" in panel and "aftersale-close" in panel
    # when the link form is sent
    r = console.post(
        f"/orders/{bought.order['id']}/aftersales/{asked['id']}/link_refund",
        data={"refund_id": str(refund_id)},
        headers={"HX-Request": "true"},
    )
    # then the request is settled by it
    assert r.status_code == 200, r.text
    assert shop.api.get(f"/api/v1/aftersales/{asked['id']}").json()["status"] == "refunded"
    assert refund_rows(runtime, bought.order["id"]) == [(bought.order_now()["paid_amount"], asked["id"])]


def test_a_provider_refund_notification_is_linked_not_refunded_again(runtime, app, shop, anon):
    # given an order of 2 + 1 hoodies (¥150) paid through WeChat Pay, the 2 returned to the shop
    from tests.support import provider_notify as pn
    from tests.support.orders import act

    bought = buy(runtime, app, shop, extra=1, pay=False, ship=False)
    pn.configure_all(runtime, shop.id)
    trade_no = pn.open_attempt(runtime, shop.id, bought.order["id"], "wechat", bought.order["total"])
    paid = pn.wechat_sign(pn.wechat_payment(trade_no, bought.order["total"]))
    assert (
        anon.post(pn.url(shop.slug, "wechat"), content=paid.body, headers=paid.all_headers()).status_code
        == 200
    )
    act(shop, bought.order, "confirm")
    act(shop, bought.order, "ship", carrier_code="SF", tracking_number="SF1234567890")
    asked = returned(bought)
    # when the merchant refunds the ¥100 in WeChat Pay's console and the notification lands
    told = pn.wechat_sign(
        pn.wechat_refund(trade_no, 10000, bought.order["total"]), event_type="REFUND.SUCCESS"
    )
    assert (
        anon.post(pn.url(shop.slug, "wechat"), content=told.body, headers=told.all_headers()).status_code
        == 200
    )
    # then the request's own refund step does not record it again
    r = bought.staff_step(asked, "refund", method="wechat")
    assert r.status_code == 409 and r.json()["error"]["code"] == "aftersale.refund_already_recorded"
    refund_id = r.json()["error"]["details"]["unclaimed_refunds"][0]
    # and linking the notified refund settles the request with the ¥100 counted once
    assert bought.done(asked, "link_refund", refund_id=refund_id)["status"] == "refunded"
    assert refund_rows(runtime, bought.order["id"]) == [(10000, asked["id"])]
    assert bought.order_now()["refunded_amount"] == 10000
