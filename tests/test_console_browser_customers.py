"""The customers screens in Chromium: find by last 4, blacklist with a confirmation, merge duplicates."""

from __future__ import annotations

import re

from tests.support.browser import (  # noqa: F401 (fixtures)
    browser_fixture,
    live_fixture,
    live_shop_fixture,
    live_tee_fixture,
    open_console,
)
from tests.support.chat_pages import expect
from tests.support.orders import make_order

API = "/api/v1/customers"
HOME = {"receiver": "欧阳娜娜", "phone": "13900007788", "province": "浙江省", "city": "杭州市",
        "district": "西湖区", "detail": "文三路100号"}  # fmt: skip


def create(shop, **body) -> dict:
    r = shop.api.post(API, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_find_by_last_four_blacklist_and_see_an_order_refused(browser, live, shop, tee):
    nana = create(shop, name="欧阳娜娜", phones=["13900007788"], addresses=[HOME])
    create(shop, name="李四", phones=["15900001111"])
    page = open_console(browser, live, shop)
    # given an order form where 欧阳娜娜 was picked before anyone blacklisted her
    order_page = page.context.new_page()
    order_page.goto(live[0] + "/orders/new")
    order_page.fill("input[name=cq]", "7788")
    order_page.click("#customer-found button:has-text('欧阳娜娜')")
    order_page.wait_for_selector(
        f"#customer-panel input[name=customer_id][value='{nana['id']}']", state="attached"
    )
    order_page.fill("input[name=pq]", "T恤")
    order_page.click(f"[data-add-line][data-variant='{tee.variant_id}']")

    # when she is found on the customers screen by the last 4 digits of her phone
    page.click("nav a[href='/customers']")
    page.wait_for_url(re.compile(r"/customers$"))
    assert sorted(page.locator(".customer-name").all_inner_texts()) == ["李四", "欧阳娜娜"]
    page.fill("input[name=q]", "7788")
    page.press("input[name=q]", "Enter")
    page.wait_for_function("() => document.querySelectorAll('#customer-rows .customer-name').length === 1")
    assert page.locator("#customer-rows .phone").inner_text() == "139****7788"
    assert "7788" not in page.url
    # and blacklisted from her profile, after confirming
    page.click("text=欧阳娜娜")
    page.wait_for_url(re.compile(rf"/customers/{nana['id']}$"))
    page.click(".actions button:has-text('加入黑名单')")
    dialog = page.locator("#block-dialog")
    assert dialog.is_visible() and "欧阳娜娜" in dialog.inner_text()
    dialog.locator("button.danger").click()
    page.wait_for_selector("#customer-profile[data-blocked=true]")
    assert "不能为其下单" in page.locator(".blocked-banner").inner_text()

    # then the order form that was already open is refused with the reason
    order_page.click("#new-order button.primary")
    toast = order_page.locator("#toast .toast-error")
    toast.wait_for()
    assert "该客户已被拉黑，不能为其下单。" in toast.inner_text()
    # and a new search shows her as blacklisted, not pickable
    order_page.fill("input[name=cq]", "欧阳")
    order_page.wait_for_selector("#customer-found button[disabled]:has-text('欧阳娜娜')")


def test_merge_a_duplicate_after_seeing_what_moves(browser, live, shop, tee):
    keep = create(shop, name="张三", phones=["13812345678"], tags=["VIP"])
    drop = create(shop, name="张三 微信", phones=["15900001111"], tags=["老客"], addresses=[HOME])
    order = make_order(shop, [(tee.variant_id, 1)], customer_id=drop["id"])
    page = open_console(browser, live, shop)
    page.goto(f"{live[0]}/customers/{keep['id']}")
    # when the duplicate is found by phone, previewed and merged
    page.fill("input[name=mq]", "15900001111")
    page.click("#merge-found button:has-text('张三 微信')")
    preview = page.locator(".merge-preview")
    preview.wait_for()
    assert "转移的订单：1" in preview.inner_text() and "159****1111" in preview.inner_text()
    preview.locator("[data-confirm-merge]").click()
    page.wait_for_selector("#customer-profile .toast-ok")
    # then the kept customer has the duplicate's phone, address, tag and order
    page.click("#customer-profile .reveal [data-reveal]")  # 显示: masked until then
    expect()(page.locator("#customer-profile .phones")).to_contain_text("15900001111")
    profile = page.locator("#customer-profile").inner_text()
    assert "15900001111" in profile and "文三路100号" in profile and "老客" in profile
    assert page.locator(f"a[href='/orders/{order['id']}']").is_visible()
    # and the duplicate's old page leads to the kept customer
    page.goto(f"{live[0]}/customers/{drop['id']}")
    page.wait_for_url(re.compile(rf"/customers/{keep['id']}$"))
