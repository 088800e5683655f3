"""The products pages in Chromium: create a product with two variants, adjust stock, read the ledger,
copy the share link; and the same pages on a phone-sized screen."""

from __future__ import annotations

import re

from tests.support.browser import (  # noqa: F401 (fixtures)
    PHONE,
    browser_fixture,
    live_fixture,
    live_shop_fixture,
    open_console,
)
from tests.support.catalog import make_product


def stock_of(page, sku: str) -> str:
    return page.locator(f"#product-stock tr.stock-row:has(.sku:text-is('{sku}')) td.available").inner_text()


def test_create_a_product_adjust_its_stock_and_read_the_ledger(browser, live, shop):
    page = open_console(browser, live, shop)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click("nav a[href='/products']")
    page.wait_for_url(re.compile(r"/products$"))
    page.click("a[href='/products/new']")

    page.fill("input[name=name]", "纯棉T恤")
    page.fill("input[name=price]", "59")
    page.fill("input[data-option='1']", "颜色")
    page.fill("input[data-values='1']", "红色，蓝色")
    page.click("[data-generate-variants]")
    rows = page.locator("#variant-rows tr.variant-row")
    assert rows.count() == 2
    assert page.locator("th[data-spec-head='1']").inner_text() == "颜色"
    assert not page.locator("th[data-spec-head='2']").is_visible()  # no second option: column hidden
    rows.nth(0).locator("input[name=sku]").fill("TEE-RED")
    rows.nth(0).locator("input[name=on_hand]").fill("10")
    rows.nth(1).locator("input[name=sku]").fill("TEE-BLUE")
    rows.nth(1).locator("input[name=variant_price]").fill("69")
    rows.nth(1).locator("input[name=on_hand]").fill("4")
    page.click("#new-product button.primary")
    page.wait_for_url(re.compile(r"/products/\d+$"))
    assert page.locator("#product-stock tr.stock-row").count() == 2
    assert stock_of(page, "TEE-BLUE") == "4"

    # The row's "Adjust" picks the variant in the form below.
    page.click("#product-stock tr.stock-row:has(.sku:text-is('TEE-BLUE')) [data-adjust]")
    form = page.locator("#stock-adjust")
    assert form.locator("select[name=variant_id] option:checked").inner_text().startswith("TEE-BLUE")
    form.locator("input[name=quantity]").fill("5")
    form.locator("select[name=reason]").select_option("delivery")
    form.locator("input[name=note]").fill("第二批")
    form.locator("button.primary").click()
    page.locator("#product-stock .toast-ok").wait_for()
    assert stock_of(page, "TEE-BLUE") == "9"
    newest = page.locator("#ledger-rows tr.movement").first.inner_text()
    assert "TEE-BLUE" in newest and "到货 · 第二批" in newest and "在库 +5" in newest

    # Taking more than is there is refused with a message; nothing changes.
    form = page.locator("#stock-adjust")
    form.locator("input[name=quantity]").fill("-50")
    form.locator("select[name=reason]").select_option("damage")
    form.locator("button.primary").click()
    page.locator("#toast .toast-error").wait_for()
    assert "库存不足" in page.locator("#toast").inner_text()
    assert page.locator("#ledger-rows tr.movement").count() == 3

    page.click("[data-copy]")
    page.wait_for_function("() => document.querySelector('[data-copy]').textContent === '已复制'")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert re.fullmatch(rf"{re.escape(live[0])}/s/{shop.slug}/p/[\w-]+", copied)


def test_a_phone_sized_screen_works(browser, live, shop):
    _url, runtime, _app = live
    tee = make_product(
        runtime, shop, name="一件名字相当长的纯棉圆领短袖T恤", options=["颜色", "尺码"], threshold=20
    )
    page = open_console(browser, live, shop, viewport=PHONE)
    page.goto(live[0] + "/products")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert not page.locator("table.products thead").is_visible()
    assert page.locator(".product-row .badge-low").is_visible()
    assert page.locator("input[name=q]").bounding_box()["width"] > 150

    page.click(".product-row a.product-name")
    page.wait_for_url(re.compile(rf"/products/{tee.product_id}$"))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    form = page.locator("#stock-adjust")
    form.locator("input[name=quantity]").fill("3")
    form.locator("button.primary").click()
    page.locator("#product-stock .toast-ok").wait_for()
    assert "在库 +3" in page.locator("#ledger-rows tr.movement").first.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.goto(live[0] + "/products/new")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    box = page.locator("#new-product button.primary").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
