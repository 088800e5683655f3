"""The order page's 发票 card and the order list's 发票 filter, over HTTP on both databases (the
browser test drives them in Chromium)."""

from __future__ import annotations

import re

from tests.support.console import HTMX
from tests.support.orders import make_order
from tests.test_invoices import COMPANY, EMAIL, TAX_ID, ask, paid


def numbers_in(html: str) -> list[str]:
    return re.findall(r'class="number">(\w+)<', html)


def test_the_card_offers_a_request_then_marks_it_issued(console, shop, tee):
    # given a paid order nobody asked an invoice for
    order = make_order(shop, [(tee.variant_id, 1)])
    paid(shop, order)
    page = console.get(f"/orders/{order['id']}").text
    assert "客户还没有申请发票。" not in page  # the owner may enter one: the form is offered instead
    assert "代客户申请发票" in page
    # when the owner enters the customer's company request in the console
    r = console.post(f"/orders/{order['id']}/invoice", data=COMPANY, headers=HTMX)
    # then the card shows it with the email and tax id whole (the owner issues invoices: they send
    # it there), no 显示 needed, with the issue form
    assert r.status_code == 200, r.text
    assert "发票申请已保存。" in r.text and COMPANY["title"] in r.text
    assert EMAIL in r.text and TAX_ID in r.text
    assert "zh****@example.com" not in r.text and f"/api/v1/orders/{order['id']}/invoice/reveal" not in r.text
    assert "标记已开票" in r.text and "客服代客户申请" in r.text
    # when it is marked issued with its number and day
    r = console.post(
        f"/orders/{order['id']}/invoice/issue",
        data={"invoice_number": "044002400111", "issued_on": "2026-12-01"},
        headers=HTMX,
    )
    # then the card reads the number, day and amount, and the timeline says so
    assert r.status_code == 200, r.text
    assert "已标记为已开票。" in r.text and "044002400111" in r.text and "2026-12-01" in r.text
    assert "标记已开票" not in r.text
    assert "号码 044002400111" in r.text


def test_a_plain_form_is_answered_with_a_redirect(console, shop, tee):
    order = make_order(shop, [(tee.variant_id, 1)])
    r = console.post(f"/orders/{order['id']}/invoice", data=COMPANY)
    assert r.status_code == 303 and r.headers["location"] == f"/orders/{order['id']}"


def test_a_bad_form_is_refused_in_words(console, shop, tee):
    order = make_order(shop, [(tee.variant_id, 1)])
    r = console.post(f"/orders/{order['id']}/invoice", data={**COMPANY, "tax_id": "123"}, headers=HTMX)
    assert r.status_code == 422 and "税号是 15 到 20 位数字或大写字母。" in r.text
    r = console.post(f"/orders/{order['id']}/invoice", data={"title": "张三"}, headers=HTMX)
    assert r.status_code == 422 and "请填写抬头类型、发票抬头和邮箱。" in r.text


def test_the_list_filter_is_in_the_bar_and_survives_paging(console, shop, tee):
    # given 31 orders waiting for an invoice (more than a page of 30) and one without
    wanted = {o["number"]: o for o in (make_order(shop, [(tee.variant_id, 1)]) for _ in range(31))}
    plain = make_order(shop, [(tee.variant_id, 1)])
    for o in wanted.values():
        assert ask(shop.api, o, COMPANY).status_code == 200
    # when the list is filtered to 待开票 and the next page is loaded with the same filters
    first = console.post("/orders", data={"tab": "all", "invoice": "requested"}, headers=HTMX).text
    cursor = re.search(r'"cursor": "([^"]+)"', first).group(1)
    rest = console.post(
        "/orders", data={"tab": "all", "invoice": "requested", "cursor": cursor}, headers=HTMX
    ).text
    # then the two pages hold exactly the 31, and the other order is on neither
    shown = numbers_in(first) + numbers_in(rest)
    assert len(shown) == len(set(shown)) == 31 and set(shown) == set(wanted)
    assert plain["number"] not in shown
    # and the page's filter bar keeps the choice (a reload, a link)
    page = console.get("/orders?tab=all&invoice=requested").text
    assert '<option value="requested" selected>待开票</option>' in page
    assert plain["number"] not in numbers_in(page)
    # and 已开票 finds none yet
    issued = console.post("/orders", data={"tab": "all", "invoice": "issued"}, headers=HTMX).text
    assert numbers_in(issued) == []
