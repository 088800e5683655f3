"""The order list in Chromium follows a new order: while the list is open (an order ticked, a bulk
cancel's preview open), an order placed elsewhere raises the 待确认 tab's count without a reload and
without touching the ticks or the preview; a searched view keeps counting what its search finds."""

from __future__ import annotations

import httpx

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
from tests.support.chat_pages import expect
from tests.support.orders import ADDRESS


def place_order(live, shop, tee, address: dict = ADDRESS) -> dict:
    """An order placed by a colleague through the API, as another device would."""
    with httpx.Client(base_url=live[0], headers={"Authorization": f"Bearer {shop.token}"}) as api:
        r = api.post(
            "/api/v1/orders",
            json={"items": [{"variant_id": tee.variant_id, "quantity": 1}], "address": address},
        )
    assert r.status_code == 201, r.text
    return r.json()


def pending_tab(page):
    return page.locator("button.tab[value=pending] .count")


@VIEWPORTS
def test_a_new_order_raises_the_tab_count_without_touching_ticks_or_the_preview(
    browser, live, shop, tee, viewport
):
    # given the list open with one of two orders ticked and a bulk cancel's preview open
    first, _second = place_order(live, shop, tee), place_order(live, shop, tee)
    page = open_console(browser, live, shop, viewport=viewport)
    page.wait_for_function("() => document.documentElement.dataset.alertsSeq !== undefined")
    expect()(pending_tab(page)).to_have_text("2")
    page.evaluate("() => { window.stillThisPage = true; }")
    page.check(f"#order-rows input[name=ids][value='{first['id']}']")
    page.select_option("[data-bulk-action]", "cancel")
    page.check("#bulk input[name=reason][value=out_of_stock]")
    page.click("button[data-selected-count]")
    page.locator(".bulk-preview").wait_for()

    # when an order arrives from elsewhere
    place_order(live, shop, tee)

    # then the tab says three, and everything the merchant was doing is as it was
    expect()(pending_tab(page)).to_have_text("3")
    assert page.evaluate("() => window.stillThisPage === true")
    assert page.locator(".bulk-preview").count() == 1
    assert page.evaluate("() => document.activeElement.matches('.bulk-preview [data-dismiss-bulk]')")
    assert page.is_checked(f"#order-rows input[name=ids][value='{first['id']}']")
    assert page.is_checked("#bulk input[name=reason][value=out_of_stock]")
    keep_screenshot(page, "tab-counts-live", viewport)


def test_a_searched_view_counts_only_new_orders_its_search_finds(browser, live, shop, tee):
    wang = {**ADDRESS, "receiver": "王小美", "phone": "13912345678"}
    place_order(live, shop, tee, wang)
    place_order(live, shop, tee)
    page = open_console(browser, live, shop, viewport=DESKTOP)
    page.fill("input[name=q]", "王小美")
    page.press("input[name=q]", "Enter")
    page.wait_for_function("() => location.search.includes('q=')")
    expect()(pending_tab(page)).to_have_text("1")
    page.fill("input[name=q]", "half typed")  # not searched yet: the counts are for the view shown

    place_order(live, shop, tee)  # someone else's order: not in this view
    place_order(live, shop, tee, wang)  # hers: counted

    expect()(pending_tab(page)).to_have_text("2")
