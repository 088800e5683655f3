"""Batch work on the order list in Chromium, on a desktop and on a phone: a bulk action shows its
outcome in the rows and the tab counts without a reload, a cancel of many orders asks first and
writes nothing when dismissed, a filtered view has an address that reloads to the same view, and
an archived order comes back from the archive."""

from __future__ import annotations

from tests.support.browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    PHONE,
    VIEWPORTS,
    browser_fixture,
    keep_screenshot,
    live_fixture,
    live_shop_fixture,
    live_tee_fixture,
    open_console,
)
from tests.support.orders import ADDRESS, act, make_order


def tab_count(page, tab: str) -> int:
    return int(page.locator(f"button.tab[value={tab}] .count").inner_text())


def tick(page, *orders: dict) -> None:
    for order in orders:
        page.check(f"input[name=ids][value='{order['id']}']")


def mark_page(page) -> None:
    """A flag a reload would lose: its presence afterwards proves the page was not reloaded."""
    page.evaluate("() => { window.notReloaded = true; }")


def not_reloaded(page) -> bool:
    return page.evaluate("() => window.notReloaded === true")


def status_of(shop, order: dict) -> str:
    return shop.api.get(f"/api/v1/orders/{order['id']}").json()["status"]


@VIEWPORTS
def test_bulk_confirm_updates_rows_and_counts_and_clears_the_ticks(browser, live, shop, tee, viewport):
    first, second, third = (make_order(shop, [(tee.variant_id, 1)]) for _ in range(3))
    page = open_console(browser, live, shop, viewport=viewport)
    assert (tab_count(page, "pending"), tab_count(page, "confirmed")) == (3, 0)
    mark_page(page)

    tick(page, first, second)
    page.select_option("[data-bulk-action]", "confirm")
    page.click("button[data-selected-count]")
    page.wait_for_selector(".bulk-result")

    for order in (first, second):
        assert page.locator(f"#order-row-{order['id']} .badge.status-confirmed").inner_text() == "已确认"
    assert page.locator(f"#order-row-{third['id']} .badge").inner_text() == "待确认"
    assert (tab_count(page, "pending"), tab_count(page, "confirmed")) == (1, 2)
    assert page.locator("input[name=ids]:checked").count() == 0
    assert page.locator("[data-bulk-action]").input_value() == ""
    assert sorted(page.locator(".bulk-result li.ok").all_inner_texts()) == [
        f"{first['number']}: 已处理",
        f"{second['number']}: 已处理",
    ]
    assert not_reloaded(page)
    keep_screenshot(page, "bulk-confirm", viewport)


@VIEWPORTS
def test_bulk_cancel_asks_with_a_preview_and_writes_nothing_when_dismissed(
    browser, live, shop, tee, viewport
):
    open_orders = [make_order(shop, [(tee.variant_id, 1)]) for _ in range(2)]
    shipped = act(shop, act(shop, make_order(shop, [(tee.variant_id, 1)]), "confirm"), "ship",
                  carrier_code="SF", tracking_number="SF1234567890")  # fmt: skip
    page = open_console(browser, live, shop, viewport=viewport)
    page.click("button.tab[value=all]")
    page.wait_for_selector(f"#order-row-{shipped['id']}")

    tick(page, *open_orders, shipped)
    page.select_option("[data-bulk-action]", "cancel")
    page.check("#bulk input[name=reason][value=out_of_stock]")
    page.click("button[data-selected-count]")
    preview = page.locator(".bulk-preview")
    preview.wait_for()

    assert preview.locator("h2").inner_text() == "要取消 2 个订单吗？"
    assert "另有 1 个会跳过" in preview.inner_text() and shipped["number"] in preview.inner_text()
    keep_screenshot(page, "bulk-cancel-preview", viewport)
    # The focus is on going back, so a stray Enter cancels nothing.
    page.wait_for_function("() => document.activeElement.matches('.bulk-preview [data-dismiss-bulk]')")
    page.keyboard.press("Enter")

    assert page.locator(".bulk-preview").count() == 0
    assert [status_of(shop, o) for o in open_orders] == ["pending", "pending"]
    assert status_of(shop, shipped) == "shipped"
    assert tab_count(page, "cancelled") == 0


@VIEWPORTS
def test_a_filtered_view_has_an_address_that_reloads_to_it_and_counts_follow_the_search(
    browser, live, shop, tee, viewport
):
    wang = {**ADDRESS, "receiver": "王小美", "phone": "13912345678"}
    hers = [make_order(shop, [(tee.variant_id, 1)], address=wang) for _ in range(2)]
    act(shop, hers[0], "confirm")
    for _ in range(3):
        make_order(shop, [(tee.variant_id, 1)])
    page = open_console(browser, live, shop, viewport=viewport)
    assert tab_count(page, "pending") == 4

    page.fill("input[name=q]", "王小美")
    page.press("input[name=q]", "Enter")
    page.wait_for_function("() => location.search.includes('q=')")
    assert (tab_count(page, "pending"), tab_count(page, "confirmed")) == (1, 1)
    page.click("button.tab[value=confirmed]")
    page.wait_for_function("() => location.search.includes('tab=confirmed')")

    page.reload()
    assert page.locator(".tab[aria-current=true]").get_attribute("value") == "confirmed"
    assert page.input_value("input[name=q]") == "王小美"
    assert page.locator("#order-rows a.number").all_inner_texts() == [hers[0]["number"]]
    assert (tab_count(page, "pending"), tab_count(page, "confirmed")) == (1, 1)

    page.go_back()
    page.wait_for_function("() => !location.search.includes('tab=confirmed')")
    page.wait_for_selector(".tab[aria-current=true][value=pending]")
    assert page.locator("#order-rows a.number").all_inner_texts() == [hers[1]["number"]]

    page.fill("input[name=q]", "13912345678")  # a phone: searched, but never put in the address
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/orders")):
        page.press("input[name=q]", "Enter")
    page.wait_for_function("() => document.querySelector('#tab-input').value === 'pending'")
    assert (tab_count(page, "pending"), tab_count(page, "confirmed")) == (1, 1)
    assert "13912345678" not in page.url and "q=" not in page.url
    keep_screenshot(page, "filtered-view", viewport)


@VIEWPORTS
def test_an_archived_order_is_restored_from_the_archive(browser, live, shop, tee, viewport):
    order = act(
        shop, make_order(shop, [(tee.variant_id, 1)]), "cancel", reason="other", reason_note="客户要求取消"
    )
    act(shop, order, "archive")
    page = open_console(browser, live, shop, viewport=viewport)
    page.click("button.tab[value=archived]")
    row = page.locator(f"#order-row-{order['id']}")
    row.wait_for()
    assert tab_count(page, "archived") == 1
    keep_screenshot(page, "archived-tab", viewport)

    row.locator("button.restore").click()
    page.wait_for_selector(".bulk-result")

    assert page.locator(f"#order-row-{order['id']} .badge").all_inner_texts() == ["已取消"]
    assert (tab_count(page, "archived"), tab_count(page, "cancelled")) == (0, 1)
    assert shop.api.get(f"/api/v1/orders/{order['id']}").json()["archived"] is False
