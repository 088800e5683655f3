"""导出 in Chromium: the owner filters the order list, exports it, watches the progress turn into a
download, and the file holds the orders the list showed. On a desktop and on a phone."""

from __future__ import annotations

from openpyxl import load_workbook

from tests.support.browser import (  # noqa: F401 (fixtures)
    VIEWPORTS,
    browser_fixture,
    keep_screenshot,
    live_fixture,
    live_shop_fixture,
    live_tee_fixture,
    live_worker_fixture,
    open_console,
)
from tests.support.chat_pages import expect
from tests.test_fix_batch_browser import place_order

WAIT = 15_000


@VIEWPORTS
def test_the_owner_exports_the_filtered_list(browser, live, shop, tee, worker, viewport, tmp_path):
    kept = place_order(live, shop, tee)
    page = open_console(browser, live, shop, viewport=viewport)
    page.goto(live[0] + "/orders")
    page.fill("#filters input[name=q]", kept["number"])
    page.click("#filters button.primary")
    expect()(page.locator("#order-list")).to_contain_text(kept["number"])

    page.click(".export-form button")
    link = page.locator(".export-done a.button")
    expect()(link).to_be_visible(timeout=WAIT)
    keep_screenshot(page, "export-ready", viewport)
    with page.expect_download() as got:
        link.click()
    path = tmp_path / "export.xlsx"
    got.value.save_as(path)

    rows = list(load_workbook(path, read_only=True)["订单"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == [kept["number"]]
    expect()(page.locator(".export-state")).to_contain_text("已下载", timeout=WAIT)
