"""Fixes from the issue 13 walkthrough: refund forms propose the way the money came and the
customer reads where it went; an order's evidence photos open for whoever reads the order; no
invoice for a fully refunded order; the order card's shipping line; open after-sales block
archiving and show beside the status; the return parcel shown as sent; 下单成功 with 去付款."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.aftersales import buy
from tests.support.catalog import make_product
from tests.support.chat import guest_client
from tests.support.fake_providers import configure_methods
from tests.support.orders import make_order
from tests.support.team import make_member
from tests.test_aftersales import line
from tests.test_chat_attachments import guest_upload, png, sent
from tests.test_payment_proof import screenshot, upload
from tests.test_payment_proof_console import section


def pay(shop, order, method: str, amount: int):
    r = shop.api.post(f"/api/v1/orders/{order['id']}/payments", json={"method": method, "amount": amount})
    assert r.status_code == 201, r.text


def refund(shop, order, amount: int, method: str = "wechat"):
    r = shop.api.post(f"/api/v1/orders/{order['id']}/refunds", json={"method": method, "amount": amount})
    assert r.status_code == 201, r.text


def selected(html: str, name: str = "method") -> list[str]:
    """The options marked selected in each ``<select name=…>`` of ``html``."""
    found = []
    for select in re.findall(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S):
        found += re.findall(r'<option value="(\w+)" selected>', select)
    return found


@pytest.fixture
def tee(runtime, shop):
    return make_product(runtime, shop, name="纯棉T恤", stock=20, price=5900)


# --- 1. refund method and amount --------------------------------------------------------------------------


def test_the_order_refund_form_proposes_the_latest_payments_method_and_what_is_refundable(console, shop, tee):
    # given an order of ¥118 paid ¥18 in cash, then ¥100 by bank transfer
    order = make_order(shop, [(tee.variant_id, 2)])
    pay(shop, order, "cash", 1800)
    pay(shop, order, "bank_transfer", 10000)
    # when finance opens the money section
    html = section(console, order)
    # then the refund form proposes bank transfer and the ¥118 refundable
    refund_form = html.split('id="refund-dialog-')[1]
    assert selected(refund_form) == ["bank_transfer"]
    assert 'name="amount" required inputmode="decimal" value="¥118.00"' in refund_form


def test_the_aftersales_refund_form_proposes_the_payment_method_and_the_amount_asked(
    runtime, app, shop, console
):
    # given an order paid by bank transfer and a refund request approved
    bought = buy(runtime, app, shop, pay=False, ship=False)
    pay(shop, bought.order, "bank_transfer", bought.order["total"])
    asked = bought.asked(kind="refund_only", reason="unwanted", lines=[line(bought, quantity=1)])
    bought.done(asked, "approve")
    # when the 售后 panel is drawn
    html = console.get(f"/orders/{bought.order['id']}/aftersales").text
    # then its refund form proposes bank transfer and the ¥50 asked, not a placeholder
    form = html.split('class="stack aftersale-refund"')[1].split("</form>")[0]
    assert selected(form) == ["bank_transfer"]
    assert 'name="amount" inputmode="decimal" value="¥50.00"' in form


@pytest.mark.parametrize(
    ("method", "words"),
    [("bank_transfer", "退款已原路退回，请留意到账。"), ("wechat", "退款已通过微信支付退给您，请留意到账。")],
)
def test_the_customer_reads_back_the_way_they_paid_only_when_it_was(runtime, app, shop, method, words):
    # given an order paid by bank transfer and a refund request approved
    bought = buy(runtime, app, shop, pay=False, ship=False)
    pay(shop, bought.order, "bank_transfer", bought.order["total"])
    asked = bought.asked(kind="refund_only", reason="unwanted", lines=[line(bought)])
    bought.done(asked, "approve")
    # when the shop refunds it through ``method``
    bought.done(asked, "refund", method=method)
    # then the customer reads 原路退回 for a bank refund, and the channel otherwise
    r = bought.guest.get(f"/s/{shop.slug}/api/orders/{bought.order['id']}/aftersales")
    assert r.json()["items"][0]["next_step_text"] == words


# --- 2. evidence attachments ------------------------------------------------------------------------------


def test_finance_and_the_warehouse_open_an_orders_evidence_without_chat(runtime, app, shop):
    # given a payment proof and an after-sales photo of a customer's order, and a plain chat photo
    bought = buy(runtime, app, shop, pay=False)
    proof = upload(bought.guest, shop, bought.order["id"], screenshot())
    assert proof.status_code == 201, proof.text
    proof_file = proof.json()["attachment_id"]
    photo = sent(guest_upload(bought.guest, shop, png()))["data"]["attachment_id"]
    chat_only = sent(guest_upload(bought.guest, shop, png(4, 4)))["data"]["attachment_id"]
    pay(shop, bought.order, "wechat", bought.order["total"])
    bought.asked(kind="refund_only", reason="quality", lines=[line(bought)], photos=[photo])
    finance = make_member(runtime, shop, role="finance")
    warehouse = make_member(runtime, shop, role="warehouse")
    # when members without chat.read open them
    # then the order's evidence opens, the chat's own photo stays hidden (404)
    for member in (finance, warehouse):
        assert member.get(f"/api/v1/attachments/{proof_file}").status_code == 200
        assert member.get(f"/api/v1/attachments/{photo}").status_code == 200
        assert member.get(f"/api/v1/attachments/{chat_only}").status_code == 404
    # and the owner (chat.read) still opens all three
    for file_id in (proof_file, photo, chat_only):
        assert shop.api.get(f"/api/v1/attachments/{file_id}").status_code == 200


def test_evidence_of_an_order_out_of_scope_or_without_orders_read_is_refused(runtime, app, shop):
    # given a payment proof of an unassigned order
    bought = buy(runtime, app, shop, pay=False, ship=False)
    proof_file = upload(bought.guest, shop, bought.order["id"], screenshot()).json()["attachment_id"]
    # when a member who sees only their assigned orders asks for it
    assigned_only = make_member(runtime, shop, permissions=["orders.read"], data_scope="assigned")
    # then it is not found, as the order is not
    assert assigned_only.get(f"/api/v1/attachments/{proof_file}").status_code == 404
    # and a member with neither chat.read nor orders.read is refused outright
    nobody = make_member(runtime, shop, permissions=["catalog.read"])
    assert nobody.get(f"/api/v1/attachments/{proof_file}").status_code == 403
    # and another shop's staff get 404
    other = make_member(runtime, shop, role="finance")
    assert other.get("/api/v1/attachments/999999").status_code == 404


# --- 3. no invoice for a fully refunded order ----------------------------------------------------------------


PERSONAL = {"title_type": "personal", "title": "张三", "email": "zhangsan@example.com"}


def test_a_fully_refunded_order_offers_no_invoice_and_refuses_one_in_words_about_refunds(app, shop, tee):
    # given a customer's order paid and then refunded in full
    guest = guest_client(app, shop, "退款客", "13900005555")
    order = make_order(shop, [(tee.variant_id, 1)], customer_id=guest.customer_id)
    pay(shop, order, "wechat", order["total"])
    refund(shop, order, order["total"])
    prefix = f"/s/{shop.slug}/api/orders/{order['id']}/invoice"
    # when the customer opens the invoice block and asks anyway
    shown = guest.get(prefix).json()
    r = guest.post(prefix, json=PERSONAL)
    # then nothing is offered and the request is refused with a coded reason about refunds
    assert shown["can_request"] is False
    assert r.status_code == 409 and r.json()["error"]["code"] == "invoice.fully_refunded"
    assert "全额退款" in r.json()["error"]["message"]


def test_issuing_after_a_full_refund_says_refunded(shop, tee):
    # given a request made while the order was paid, then a full refund
    order = make_order(shop, [(tee.variant_id, 1)])
    pay(shop, order, "wechat", order["total"])
    assert shop.api.post(f"/api/v1/orders/{order['id']}/invoice", json=PERSONAL).status_code == 200
    refund(shop, order, order["total"])
    # when finance issues it
    r = shop.api.post(f"/api/v1/orders/{order['id']}/invoice/issue", json={"invoice_number": "044002400111"})
    # then the refusal says refunded, not "nothing paid yet"
    assert r.status_code == 409 and r.json()["error"]["code"] == "invoice.fully_refunded"


# --- 8. the order card's shipping and discount ----------------------------------------------------------------


def test_the_order_card_carries_shipping_and_discount_and_both_pages_draw_them(app, shop, tee, console):
    # given an order of ¥118 with ¥15 shipping and ¥3 off
    guest = guest_client(app, shop, "运费客", "13900006666")
    order = make_order(
        shop, [(tee.variant_id, 2)], customer_id=guest.customer_id, shipping_fee=1500, discount=300
    )
    # when the shop sends its card
    r = shop.api.post(
        f"/api/v1/conversations/{guest.conversation_id}/messages",
        json={"kind": "order_card", "order_id": order["id"]},
    )
    # then the snapshot holds the lines between items and total
    data = r.json()["data"]
    assert (data["shipping_fee"], data["discount"], data["total"]) == (1500, 300, 11800 + 1500 - 300)
    # and both pages' scripts have the words for them
    shop_page = guest.get(f"/s/{shop.slug}").text
    shop_text = json.loads(re.search(r'id="shop-config">(.*?)</script>', shop_page, re.S).group(1))["text"]
    assert (shop_text["shipping"], shop_text["discount"]) == ("运费", "优惠")
    inbox = console.get(f"/inbox/{guest.conversation_id}").text
    boot = json.loads(re.search(r'id="inbox-boot">(.*?)</script>', inbox, re.S).group(1))
    assert (boot["text"]["shipping"], boot["text"]["discount"]) == ("运费", "优惠")


# --- 11. open after-sales on a completed order ---------------------------------------------------------------


def test_a_completed_order_with_open_aftersales_shows_it_and_is_not_archived(runtime, app, shop, console):
    # given a completed order whose customer then asks for a return
    bought = buy(runtime, app, shop)
    assert bought.guest.post(f"/s/{shop.slug}/api/orders/{bought.order['id']}/receipt").status_code == 200
    bought.asked(kind="return_refund", reason="size", lines=[line(bought)])
    # when staff read the order and the list, and try to archive it
    page = console.get(f"/orders/{bought.order['id']}").text
    rows = console.get("/orders", params={"tab": "completed"}).text
    r = shop.api.post(f"/api/v1/orders/{bought.order['id']}/archive")
    # then 售后处理中 stands beside the status, no 归档 is offered, and archiving is refused
    assert "售后处理中" in page and "/archive-now" not in page
    assert "售后处理中" in rows
    assert r.status_code == 409 and r.json()["error"]["code"] == "order.aftersales_open_archive"
    assert bought.order_now()["archived_at"] is None


# --- 12 and 13. the shop pages' words ---------------------------------------------------------------------


def test_the_order_page_has_the_words_of_a_return_sent(runtime, app, shop):
    # given a customer's order page
    bought = buy(runtime, app, shop)
    page = bought.guest.get(f"/s/{shop.slug}/orders/{bought.order['id']}").text
    # then aftersales.js has "退货已寄出：…" and 修改 to draw a sent return with
    words = json.loads(re.search(r'id="aftersale-text">(.*?)</script>', page, re.S).group(1))
    assert words["return_sent"] == "退货已寄出：{parcel}" and words["change_return"] == "修改"


def test_the_product_page_knows_whether_the_shop_takes_payments(runtime, app, shop, tee):
    # given a shop with no payment methods, then one with bank transfer
    guest = guest_client(app, shop, "付款客", "13900007777")
    token = shop.api.get(f"/api/v1/products/{tee.product_id}").json()["share_token"]

    def config() -> dict:
        page = guest.get(f"/s/{shop.slug}/p/{token}").text
        assert 'id="placed-pay"' in page and page.count('id="placed-link"') == 1
        return json.loads(re.search(r'id="shop-config">(.*?)</script>', page, re.S).group(1))

    assert config()["pays"] is False
    configure_methods(runtime, shop.id, kinds=("bank",))
    # then 下单成功 may offer 去付款
    assert config()["pays"] is True
