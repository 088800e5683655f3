"""报价单 in Chromium: the owner picks a customer, uploads their batch-order sheet, reads the
preview and makes one order per recipient, and the orders appear in the list (desktop and phone);
then a quote sent into a customer's chat is accepted on the customer's phone into an order."""

from __future__ import annotations

from tests.support.browser import (  # noqa: F401 (fixtures)
    VIEWPORTS,
    browser_fixture,
    customer_phone,
    fits,
    keep_screenshot,
    live_fixture,
    live_shop_fixture,
    live_tee_fixture,
    open_console,
)
from tests.support.chat import Device
from tests.support.chat_pages import expect
from tests.support.customers import make_customer
from tests.test_sheets import xlsx

WAIT = 15_000
HEADER = ["商品名称", "数量", "单价", "收货人", "手机", "收货地址"]


@VIEWPORTS
def test_a_quote_sheet_previews_imports_and_its_orders_appear(browser, live, shop, tee, viewport, tmp_path):
    make_customer(live[1], shop, name="批发商老王", phone="13900001111")
    path = xlsx(tmp_path / "批量下单.xlsx", [
        HEADER,
        ["纯棉T恤", 2, 49, "张三", "13812345678", "浙江省杭州市西湖区文三路100号"],
        ["纯棉T恤", 1, 49, "李四", "13987654321", "上海市浦东新区世纪大道1号"],
    ])  # fmt: skip
    page = open_console(browser, live, shop, viewport=viewport)
    page.goto(live[0] + "/orders")
    page.click("a[href='/orders/import']")
    page.fill("input[name=cq]", "老王")
    page.locator("#customer-found button", has_text="批发商老王").click()
    expect()(page.locator("#import-customer")).to_contain_text("批发商老王")

    page.set_input_files("#quote-sheet input[type=file]", str(path))
    page.click("#quote-sheet button.primary")
    preview = page.locator(".sheet-preview")
    expect()(preview).to_contain_text("2 位收货人", timeout=WAIT)
    expect()(preview.locator("input[value=per_recipient]")).to_be_checked()
    keep_screenshot(page, "quote-preview", viewport)
    if viewport["width"] < 500:
        fits(page)
    preview.locator("button.primary").click()
    done = page.locator(".sheet-done")
    expect()(done).to_contain_text("已生成 2 个订单", timeout=WAIT)
    number = done.locator("a").first.inner_text()

    page.goto(live[0] + "/orders")
    expect()(page.locator("#order-list")).to_contain_text(number)


def test_a_customer_accepts_a_quote_on_their_phone(browser, live, shop, tee, tmp_path):
    device = Device(live[0], shop.slug, "张三", "13812345678")
    page = open_console(browser, live, shop)
    page.goto(f"{live[0]}/orders/import?customer_id={device.customer_id}")
    path = xlsx(tmp_path / "报价单.xlsx", [["商品", "数量", "单价"], ["纯棉T恤", 3, 45]])
    page.set_input_files("#quote-sheet input[type=file]", str(path))
    page.click("#quote-sheet button.primary")
    page.locator(".sheet-preview input[value=quote]").check()
    page.locator(".sheet-preview button.primary").click()
    expect()(page.locator(".sheet-done")).to_contain_text("报价单已发送", timeout=WAIT)

    phone = customer_phone(browser, live, device)
    phone.goto(f"{live[0]}/s/{shop.slug}")
    accept = phone.locator(".quote-card a.button", has_text="接受报价并下单")
    expect()(accept).to_be_visible(timeout=WAIT)
    accept.click()
    expect()(phone.locator(".quote-lines")).to_contain_text("¥45.00 × 3")
    form = phone.locator("#order-form")
    for name, value in {"receiver": "张三", "address_phone": "13812345678", "detail": "文三路100号"}.items():
        form.locator(f"[name={name}]").fill(value)
    phone.select_option("[name=province]", label="浙江省")
    phone.select_option("[name=city]", label="杭州市")
    phone.select_option("[name=district]", label="西湖区")
    keep_screenshot(phone, "quote-accept", {"width": 390})
    fits(phone)
    phone.click("#order-submit")
    expect()(phone.locator("#placed")).to_be_visible(timeout=WAIT)
    keep_screenshot(phone, "quote-accepted", {"width": 390})

    orders = device.http.get(f"/s/{shop.slug}/api/orders").json()["items"]
    assert [(o["status"], o["total"] >= 13500) for o in orders] == [("pending", True)]
