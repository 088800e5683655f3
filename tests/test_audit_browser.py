"""The 操作日志 page in Chromium: the owner reaches it from the navigation, reads their own sign-in
by name, narrows the log with the filter form; a table on a desktop, one card per act on a phone."""

from __future__ import annotations

from tests.support.browser import (  # noqa: F401 (fixtures)
    VIEWPORTS,
    browser_fixture,
    live_fixture,
    live_shop_fixture,
    open_console,
)


@VIEWPORTS
def test_the_owner_reads_and_filters_the_audit_log(browser, live, shop, viewport):
    # Given the owner signed in (that sign-in is the log's first act) and renamed the shop
    page = open_console(browser, live, shop, viewport=viewport)
    url, _runtime, _app = live
    page.request.patch(
        url + "/api/v1/shop", data={"name": "改过名的小店"}, headers={"Authorization": f"Bearer {shop.token}"}
    )

    # When they open 操作日志 from the navigation
    page.click("nav a[href='/audit']")
    page.wait_for_url(url + "/audit")

    # Then both acts are listed by name, newest first
    rows = page.locator("tr.audit-row")
    assert rows.count() == 2
    assert "修改店铺设置" in rows.nth(0).inner_text() and "登录" in rows.nth(1).inner_text()
    # with what changed in words, not data keys
    assert "修改的设置：名称" in rows.nth(0).inner_text() and "changed" not in rows.nth(0).inner_text()

    # and on a phone each act is a card as wide as the list, the table's head hidden; on a
    # desktop the columns sit side by side under their head
    head_shown = page.locator("table.audit thead").is_visible()
    cells = [rows.nth(1).locator("td").nth(n).bounding_box() for n in range(3)]
    if viewport["width"] < 720:
        assert not head_shown
        assert cells[0]["y"] < cells[1]["y"] < cells[2]["y"]  # stacked
        assert page.eval_on_selector("body", "b => b.scrollWidth <= window.innerWidth")
    else:
        assert head_shown
        assert cells[0]["y"] == cells[1]["y"] == cells[2]["y"]  # one line
        assert cells[0]["x"] < cells[1]["x"] < cells[2]["x"]

    # When they keep only the sign-in acts
    page.select_option("select[name=act]", "auth.")
    page.click("#audit-filters button")
    page.wait_for_url(url + "/audit?*")

    # Then only the sign-in is left, and the filter stays chosen
    assert rows.count() == 1 and "登录" in rows.nth(0).inner_text()
    assert page.locator("select[name=act]").input_value() == "auth."
