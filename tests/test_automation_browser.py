"""自动化 in Chromium: the owner switches on 付款后自动确认 and a tag rule of their own on the
automation page, records a payment on the order page, and sees the order confirmed and tagged
without reloading; the run log says what ran. On a desktop and on a phone."""

from __future__ import annotations

import pytest

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
from tests.support.live import serve
from tests.test_fix_batch_browser import place_order
from tests.test_webhooks import Receiver, documented_verify

WAIT = 15_000


@VIEWPORTS
def test_the_owner_switches_rules_on_and_sees_them_act_live(browser, live, shop, tee, worker, viewport):
    order = place_order(live, shop, tee)
    page = open_console(browser, live, shop, viewport=viewport)

    # the owner switches on 付款后自动确认 and makes a rule tagging paid orders
    page.goto(live[0] + "/automation")
    page.click("[data-preset=paid_confirm] button.primary")
    expect()(page.locator("[data-preset=paid_confirm] .badge.on")).to_be_visible()
    editor = page.locator("details.rule-editor")
    if editor.get_attribute("open") is None:
        editor.locator("summary").click()
    page.fill("#rule-editor input[name=name]", "付款打标签")
    page.select_option("#rule-editor select[name=trigger]", "order_paid")
    page.fill("#rule-editor input[name=tag]", "已付款")
    page.click("#rule-editor button.primary")
    expect()(page.locator(".rule", has_text="付款打标签")).to_be_visible()
    keep_screenshot(page, "automation-rules", viewport)

    # when they record the payment on the order page
    page.goto(f"{live[0]}/orders/{order['id']}")
    page.click(f"[data-open=pay-dialog-{order['id']}]")
    page.click(f"#pay-dialog-{order['id']} button.primary")

    # then the order turns 已确认 and carries the tag, with no reload
    expect()(page.locator(".detail-head .badge.status-confirmed")).to_be_visible(timeout=WAIT)
    expect()(page.locator(".tags .tag", has_text="已付款")).to_be_visible(timeout=WAIT)
    expect()(page.locator(".timeline", has_text="自动化：付款后自动确认")).to_be_visible(timeout=WAIT)
    keep_screenshot(page, "automation-order", viewport)

    # and the run log shows both rules done on that order
    page.goto(live[0] + "/automation")
    runs = page.locator("table.runs tr.run", has_text=order["number"])
    expect()(runs).to_have_count(2)
    expect()(runs.filter(has_text="已执行")).to_have_count(2)
    keep_screenshot(page, "automation-log", viewport)


@pytest.fixture
def receiver(live, monkeypatch):
    """A webhook receiver on a real socket, reachable because the operator allowed private targets."""
    monkeypatch.setattr(live[1].settings, "webhook_allow_private", True)
    got = Receiver()
    with serve(got.app) as url:
        got.url = url
        yield got


@VIEWPORTS
def test_the_owner_adds_a_webhook_and_sees_a_payment_delivered(
    browser, live, shop, tee, worker, receiver, viewport
):
    order = place_order(live, shop, tee)
    page = open_console(browser, live, shop, viewport=viewport)

    # the owner adds a webhook for payments from the settings hub
    page.goto(live[0] + "/settings")
    page.click("a[href='/settings/webhooks']")
    new = page.locator("details.webhook-new")
    if new.get_attribute("open") is None:
        new.locator("summary").click()
    new.locator("input[name=description]").fill("财务系统")
    new.locator("input[name=url]").fill(f"{receiver.url}/finance")
    new.locator("input[name=topic][value=order]").uncheck()
    new.locator("input[name=topic][value=payment]").check()
    new.locator("button.primary").click()
    secret = page.locator(".secret-once code.secret")
    expect()(secret).to_contain_text("whsec_")
    shown = secret.inner_text().strip()
    keep_screenshot(page, "webhook-secret", viewport)

    # when a payment is recorded on the order page
    page.goto(f"{live[0]}/orders/{order['id']}")
    page.click(f"[data-open=pay-dialog-{order['id']}]")
    page.click(f"#pay-dialog-{order['id']} button.primary")
    expect()(page.locator(".detail-head .badge")).to_be_visible()

    # then the receiver gets order.paid, signed with that secret, and the page says it was delivered
    for _ in range(60):  # the worker sends within its poll
        if receiver.requests:
            break
        page.wait_for_timeout(250)
    [request] = receiver.requests
    assert documented_verify()(shown, request["headers"]["x-shangliao-signature"], request["body"])
    assert receiver.bodies()[0]["type"] == "order.paid"
    page.goto(live[0] + "/settings/webhooks")
    expect()(page.locator("tr.delivery-succeeded", has_text="order.paid")).to_be_visible()
    keep_screenshot(page, "webhook-deliveries", viewport)
