"""打印发货单 in Chromium: the packer ticks orders in the list, applies 打印发货单 from the bulk bar,
and the card's button opens a PDF holding exactly those orders' slips."""

from __future__ import annotations

from playwright.sync_api import FormData

from tests.support.browser import (  # noqa: F401 (fixtures)
    browser_fixture,
    keep_screenshot,
    live_fixture,
    live_shop_fixture,
    live_tee_fixture,
    open_console,
)
from tests.support.chat_pages import expect
from tests.support.pdf import text_of
from tests.test_fix_batch_browser import place_order

WAIT = 15_000


def test_the_bulk_bar_opens_the_ticked_orders_slips(browser, live, shop, tee, tmp_path):
    first, second, left = (place_order(live, shop, tee) for _ in range(3))
    page = open_console(browser, live, shop)
    page.goto(live[0] + "/orders")
    for order in (first, second):
        page.check(f"#order-rows input[name=ids][value='{order['id']}']")
    page.select_option("[data-bulk-action]", "print")
    page.click("#bulk button.primary")
    button = page.locator("[data-print-slips] button")
    expect()(button).to_be_visible(timeout=WAIT)
    keep_screenshot(page, "print-ready")

    # the slips open in a new tab, which receives a PDF (Chromium shows it in its viewer)
    with page.context.expect_event(
        "response", lambda r: r.url.endswith("/orders/packing-slips") and r.request.method == "POST"
    ) as got:
        button.click()
    assert got.value.status == 200 and got.value.header_value("content-type") == "application/pdf"
    # and what the card posts prints exactly the ticked orders (the viewer's tab holds no bytes
    # to read back, so the card's own form is posted again with the page's session)
    form = FormData()
    for value in page.locator("[data-print-slips] input[name=ids]").evaluate_all(
        "(xs) => xs.map(x => x.value)"
    ):
        form.append("ids", value)
    again = page.context.request.post(live[0] + "/orders/packing-slips", multipart=form)
    text = text_of(again.body(), tmp_path)
    assert first["number"] in text and second["number"] in text and left["number"] not in text
