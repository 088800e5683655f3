"""The new order page and 修改商品 in Chromium, on a desktop and on a 390 px phone: the picker
finds an exact SKU and option words, the running total is the order's total, and an order's
items gain and lose lines."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    PHONE,
    VIEWPORTS,
    browser_fixture,
    keep_screenshot,
    live_fixture,
    live_shop_fixture,
    open_console,
)
from tests.support.catalog import make_product
from tests.support.orders import ADDRESS


@pytest.fixture
def tee(live, shop):
    """A T-shirt in 红色/L, 蓝色/L and 红色/XL; then a newer product whose SKU starts like red L's."""
    made = make_product(
        live[1],
        shop,
        name="纯棉T恤",
        options=["颜色", "尺码"],
        variants=[
            {"sku": "TS-RED-L", "spec": {"颜色": "红色", "尺码": "L"}, "price": 5900},
            {"sku": "TS-BLUE-L", "spec": {"颜色": "蓝色", "尺码": "L"}, "price": 5900},
            {"sku": "TS-RED-XL", "spec": {"颜色": "红色", "尺码": "XL"}, "price": 6900},
        ],
        stock=20,
    )
    make_product(live[1], shop, name="加厚卫衣", variants=[{"sku": "TS-RED-L2"}], price=12900)
    return made


@pytest.fixture
def mug(live, shop):
    return make_product(live[1], shop, name="马克杯", variants=[{"sku": "MUG-1"}], stock=20, price=2500)


def picked(page, found: str, box: str, q: str) -> list[str]:
    """Type ``q`` into a picker's search box; the SKUs it lists for ``q``, in order."""
    page.fill(box, q)
    expect(page.locator(found).locator("table")).to_have_attribute("data-q", q)  # the answer to q
    return page.locator(found).locator("tr[data-sku]").evaluate_all("rows => rows.map(r => r.dataset.sku)")


@VIEWPORTS
def test_pick_by_sku_and_option_see_the_total_then_change_items(browser, live, shop, tee, mug, viewport):
    page = open_console(browser, live, shop, viewport=viewport)
    page.goto(live[0] + "/orders/new")

    # an exact SKU puts that variant first (the newer product's TS-RED-L2 comes after it)
    assert picked(page, "#product-found", "input[name=pq]", "TS-RED-L") == ["TS-RED-L", "TS-RED-L2"]

    # a colour finds the variants of that colour, not only product names
    assert picked(page, "#product-found", "input[name=pq]", "红色") == ["TS-RED-L", "TS-RED-XL"]
    page.click("#product-found tr[data-sku='TS-RED-XL'] [data-add-line]")

    assert picked(page, "#product-found", "input[name=pq]", "马克杯") == ["MUG-1"]
    page.click("#product-found tr[data-sku='MUG-1'] [data-add-line]")
    page.fill(f"#lines tr[data-variant='{mug.variant_id}'] input[name=quantity]", "2")
    page.fill("input[name=shipping_fee]", "8")
    page.fill("input[name=discount]", "5")

    # the running total: 69 + 2 × 25 = 119 in items, + 8 shipping, − 5 discount
    totals = page.locator("#order-totals")
    expect(totals.locator("[data-amount=total]")).to_have_text("¥122.00")
    expect(totals.locator("[data-amount=items_total]")).to_have_text("¥119.00")
    expect(totals.locator("[data-amount=shipping_fee]")).to_have_text("¥8.00")
    expect(totals.locator("[data-amount=discount]")).to_have_text("-¥5.00")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    keep_screenshot(page, "neworder-new", viewport)

    page.fill("textarea[name=pasted]", "王小美 13900001234 浙江省杭州市西湖区文三路100号")
    page.click("[data-recognise]")
    page.wait_for_selector("#address-fields[data-recognised]")
    page.click("#new-order button.primary")
    page.wait_for_url(re.compile(r"/orders/\d+$"))
    # the order charges what the page showed
    expect(page.locator(".amounts dd.total")).to_have_text("¥122.00")

    # 修改商品: add the blue L, drop the mugs
    page.click("button[data-open=items-dialog]")
    dialog = page.locator("#items-dialog")
    assert picked(page, "#items-pick-found", "#items-dialog input[name=pq]", "蓝色") == ["TS-BLUE-L"]
    dialog.locator("tr[data-sku='TS-BLUE-L'] [data-add-line]").click()
    dialog.locator(f"tr[data-variant='{mug.variant_id}'] [data-remove-line]").click()
    expect(dialog.locator(f"tr[data-variant='{mug.variant_id}']")).to_be_hidden()
    # the dialog's total is the order's after the change: 69 + 59 + 8 − 5
    expect(dialog.locator("[data-amount=total]")).to_have_text("¥131.00")
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
    keep_screenshot(page, "neworder-edit", viewport)
    dialog.locator("button.primary").click()

    items = page.locator("#order-detail .detail-grid table.items")
    expect(items).to_contain_text("蓝色 / L")
    expect(items).not_to_contain_text("马克杯")
    expect(items).to_contain_text("红色 / XL")
    expect(page.locator(".amounts dd.total")).to_have_text("¥131.00")
    expect(page.locator(".timeline")).to_contain_text("修改商品")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    keep_screenshot(page, "neworder-edited", viewport)


@VIEWPORTS
def test_added_units_take_the_catalog_price_beside_a_repriced_line(browser, live, shop, tee, viewport):
    red_l, _blue_l, red_xl = tee.variant_ids
    # given an order of one red L at the catalog price and one red XL re-priced to ¥50 (改价)
    r = shop.api.post(
        "/api/v1/orders",
        json={
            "items": [
                {"variant_id": red_l, "quantity": 1},
                {"variant_id": red_xl, "quantity": 1, "unit_price": 5000},
            ],
            "address": ADDRESS,
        },
    )
    assert r.status_code == 201, r.text
    page = open_console(browser, live, shop, viewport=viewport)
    page.goto(live[0] + f"/orders/{r.json()['id']}")
    page.click("button[data-open=items-dialog]")
    dialog = page.locator("#items-dialog")
    # when 修改商品 adds a red L and a red XL
    assert picked(page, "#items-pick-found", "#items-dialog input[name=pq]", "红色") == [
        "TS-RED-L",
        "TS-RED-XL",
    ]
    dialog.locator("#items-pick-found tr[data-sku='TS-RED-L'] [data-add-line]").click()
    expect(dialog.locator("[data-amount=total]")).to_have_text("¥168.00")  # 2 × 59 + 50
    dialog.locator("#items-pick-found tr[data-sku='TS-RED-XL'] [data-add-line]").click()
    # then the red L line is raised (it is at the catalog price); the red XL gets a line of its
    # own at the catalog price, as the dialog says, beside the line at ¥50
    expect(dialog.locator(f"tr[data-variant='{red_l}']")).to_have_count(1)
    expect(dialog.locator(f"tr[data-variant='{red_l}'] input[type=number]")).to_have_value("2")
    expect(dialog.locator(f"tr[data-variant='{red_xl}'] .line-price")).to_have_text(["¥50.00", "¥69.00"])
    # and the total is 2 × 59 + 50 + 69
    expect(dialog.locator("[data-amount=total]")).to_have_text("¥237.00")
    keep_screenshot(page, "neworder-added-beside-repriced", viewport)
    dialog.locator("button.primary").click()
    # and saving keeps the three lines
    expect(dialog).to_be_hidden()
    expect(page.locator(".amounts dd.total")).to_have_text("¥237.00")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
