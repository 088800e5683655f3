"""The console in Chromium: what a merchant does every day, on a desktop and on a phone."""

from __future__ import annotations

import re

from tests.support.browser import (  # noqa: F401 (fixtures)
    PHONE,
    browser_fixture,
    live_fixture,
    live_shop_fixture,
    live_tee_fixture,
    open_console,
)
from tests.support.chat_pages import expect
from tests.support.orders import ADDRESS, act, make_order


def shown_numbers(page) -> list[str]:
    return page.locator("#order-rows a.number").all_inner_texts()


def test_sign_in_filter_and_search(browser, live, shop, tee):
    mine = make_order(
        shop, [(tee.variant_id, 1)], address={**ADDRESS, "receiver": "欧阳娜娜", "phone": "13900007788"}
    )
    others = [make_order(shop, [(tee.variant_id, 3)]) for _ in range(3)]
    act(shop, others[0], "confirm")
    page = open_console(browser, live, shop)
    assert page.locator(".tab[aria-current=true]").inner_text().startswith("待确认")
    assert set(shown_numbers(page)) == {mine["number"], others[1]["number"], others[2]["number"]}

    page.fill("input[name=q]", "7788")
    page.press("input[name=q]", "Enter")
    page.wait_for_function("() => document.querySelectorAll('#order-rows a.number').length === 1")
    assert shown_numbers(page) == [mine["number"]]

    page.fill("input[name=q]", "")
    page.click("button.tab[value=confirmed]")
    page.wait_for_function("() => document.querySelector('.tab[aria-current=true]').value === 'confirmed'")
    assert shown_numbers(page) == [others[0]["number"]]

    page.click("button.tab[value=all]")
    page.click(".filter-more summary")
    page.fill("input[name=amount_min]", "100")
    page.press("input[name=amount_min]", "Enter")
    page.wait_for_function("() => document.querySelectorAll('#order-rows a.number').length === 3")
    assert mine["number"] not in shown_numbers(page)


def test_confirm_then_ship_with_a_tracking_number_and_read_the_timeline(browser, live, shop, tee):
    order = make_order(shop, [(tee.variant_id, 2)])
    page = open_console(browser, live, shop)
    page.click(f"text={order['number']}")
    page.wait_for_url(re.compile(rf"/orders/{order['id']}$"))
    page.click(".actions button:has-text('确认')")
    page.wait_for_selector("#order-detail[data-status=confirmed]")
    page.click(".actions button:has-text('发货')")
    dialog = page.locator("#ship-dialog")
    assert dialog.is_visible()
    dialog.locator("select[name=carrier_code]").select_option("SF")
    dialog.locator("input[name=tracking_number]").fill("SF1234567890")
    dialog.locator("input[name=ship_unpaid]").check()  # not marked paid: asked once, ticked
    dialog.locator("button.primary").click()
    page.wait_for_selector("#order-detail[data-status=shipped]")
    # the 物流 line and the parcels box both link the number
    assert page.locator("a[href*='kuaidi100.com']").first.inner_text() == "SF1234567890"
    timeline = page.locator(".timeline li").all_inner_texts()
    assert len(timeline) == 3 and any("已发货" in entry for entry in timeline)


def test_a_refusal_is_shown_as_a_message(browser, live, shop, tee):
    order = make_order(shop, [(tee.variant_id, 1)])
    page = open_console(browser, live, shop)
    # The page follows its order live (parcels.js): here the colleague's change has not reached it
    # yet, as when both click at once, so this page's socket stays silent.
    page.route_web_socket(re.compile(r"/api/v1/ws"), lambda socket: None)
    page.goto(f"{live[0]}/orders/{order['id']}")
    page.wait_for_load_state("networkidle")  # its first look at the order's version is done
    act(shop, order, "confirm")  # someone else confirms meanwhile
    page.click(".actions button:has-text('确认')")
    toast = page.locator("#toast .toast-error")
    toast.wait_for()
    assert "刷新" in toast.inner_text()


def test_batch_confirm_shows_each_orders_result(browser, live, shop, tee):
    pending = [make_order(shop, [(tee.variant_id, 1)]) for _ in range(3)]
    confirmed = act(shop, make_order(shop, [(tee.variant_id, 1)]), "confirm")
    page = open_console(browser, live, shop)
    page.click("button.tab[value=all]")
    page.wait_for_function("() => document.querySelector('.tab[aria-current=true]').value === 'all'")
    for order in [*pending, confirmed]:
        page.check(f"input[name=ids][value='{order['id']}']")
    page.select_option("select[name=action]", "confirm")
    page.click("#bulk button.primary")
    result = page.locator(".bulk-result")
    result.wait_for()
    assert "已处理 3 个，跳过 1 个" in result.inner_text()
    refused = page.locator(".bulk-result li.refused").inner_text()
    assert confirmed["number"] in refused


def test_a_phone_sized_screen_works(browser, live, shop, tee):
    order = make_order(shop, [(tee.variant_id, 1)])
    page = open_console(browser, live, shop, viewport=PHONE)
    # No sideways scrolling, the orders as cards, the search box usable.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert not page.locator("table.orders thead").is_visible()
    assert page.locator("input[name=q]").bounding_box()["width"] > 150
    page.click(f"text={order['number']}")
    page.click(".actions button:has-text('确认')")
    page.wait_for_selector("#order-detail[data-status=confirmed]")
    page.click(".actions button:has-text('发货')")
    box = page.locator("#ship-dialog").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_manual_order_with_a_pasted_address(browser, live, shop, tee):
    page = open_console(browser, live, shop)
    page.click("a[href='/orders/new']")
    page.wait_for_url(re.compile(r"/orders/new$"))
    page.fill("textarea[name=pasted]", "收货人：李雷 手机 139-0000-1234\n浙江杭州市西湖区文三路 100 号")
    page.click("[data-recognise]")
    page.wait_for_selector("#address-fields[data-recognised]")
    assert page.input_value("input[name=receiver]") == "李雷"
    assert page.input_value("input[name=phone]") == "13900001234"
    assert page.locator("select[name=district_code] option:checked").inner_text() == "西湖区"
    page.fill("input[name=pq]", "T恤")
    page.click(f"[data-add-line][data-variant='{tee.variant_id}']")
    page.fill("#lines input[name=quantity]", "2")
    page.click("#new-order button.primary")
    page.wait_for_url(re.compile(r"/orders/\d+$"))
    assert page.locator("#order-detail").get_attribute("data-status") == "pending"
    page.click("#order-detail p.address + .reveal [data-reveal]")  # 显示: the address is masked until then
    expect()(page.locator(".address")).to_contain_text("文三路100号")
    address = page.locator(".address").inner_text()
    assert "李雷" in address and "浙江省杭州市西湖区" in address and "文三路100号" in address


def test_a_panel_loading_beside_an_open_dialog_leaves_it_open(browser, live, shop, tee):
    # given the order page with 修改商品 open (the 售后 panel loads after the page, and again on
    # every after-sales change: on a slow line, after the merchant opened a dialog)
    order = make_order(shop, [(tee.variant_id, 1)])
    page = open_console(browser, live, shop)
    page.goto(f"{live[0]}/orders/{order['id']}")
    page.wait_for_load_state("networkidle")
    page.click("button[data-open=items-dialog]")

    # when the 售后 panel is drawn again beside it
    with page.expect_response(lambda r: r.url.endswith(f"/orders/{order['id']}/aftersales")):
        page.evaluate("htmx.trigger(document.body, 'aftersale-changed')")
    page.wait_for_timeout(100)  # the swap follows the answer

    # then the dialog is still open, its search box usable
    assert page.evaluate("document.getElementById('items-dialog').open")
    page.fill("#items-dialog input[name=pq]", "T恤")
