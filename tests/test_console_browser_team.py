"""The team's console in a browser: the inbox's bulk assignment (inbox-bulk.js) and the owner's
nav, with 通知, 团队, 设置 and 日志 and their counts, on a phone."""

from __future__ import annotations

from tests.support.browser import (  # noqa: F401 (fixtures)
    PHONE,
    browser_fixture,
    keep_screenshot,
    live_fixture,
    live_shop_fixture,
    live_tee_fixture,
    no_csp_violations_fixture,
    open_console,
)
from tests.support.chat import customer_says, open_conversation
from tests.support.orders import make_order
from tests.support.team import make_member


def test_the_owners_nav_keeps_one_line_of_a_phone(browser, live, shop, tee):
    # given a shop with counts in its nav: pending orders, an unread conversation, notifications
    for _ in range(12):
        make_order(shop, [(tee.variant_id, 1)])
    conversation = open_conversation(live[1], shop, "导航", "13900005009")
    customer_says(live[1], shop, conversation, "在吗")
    page = open_console(browser, live, shop, viewport=PHONE)
    page.goto(live[0] + "/audit")
    page.locator("#nav-notifications:not(:empty)").wait_for()

    links = page.eval_on_selector_all(
        ".nav a",
        "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.left, r.right, r.top]; })",
    )
    topbar = page.eval_on_selector(".topbar", "e => e.getBoundingClientRect().height")
    keep_screenshot(page, "audit-nav", PHONE)

    # then the owner's ten links (with 设置, issue 13, 自动化, issue 14, and 工作台, issue 15) stay on one line and
    # the topbar leaves the phone its page; the page itself does not scroll sideways
    assert len(links) == 10
    assert len({round(top) for _, _, top in links}) == 1
    assert topbar < 100
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # and the page's own entry (日志, the last) was scrolled into view, the hidden ones faded in
    page.wait_for_function(
        """() => { const r = document.querySelector('.nav a[aria-current=page]').getBoundingClientRect();
                   return r.left >= 0 && r.right <= window.innerWidth; }"""
    )
    assert "start" in page.get_attribute(".topbar .nav", "data-more")

    # and the first entry is a swipe away
    page.eval_on_selector(".topbar .nav", "nav => nav.scrollTo({ left: 0 })")
    page.wait_for_function("() => document.querySelector('.topbar .nav').dataset.more === 'end'")
    first = page.locator(".nav a").first.bounding_box()
    assert first["x"] >= 0


def test_the_owner_assigns_several_conversations_at_once(browser, live, shop):
    _url, runtime, _app = live
    first = open_conversation(runtime, shop, "批量一", "13900005001")
    second = open_conversation(runtime, shop, "批量二", "13900005002")
    agent = make_member(runtime, shop, role="agent")
    page = open_console(browser, live, shop, viewport=PHONE)
    page.goto(live[0] + "/inbox")

    # when the owner picks both rows and gives them to the agent
    for c in (first, second):
        page.check(f'.row-pick[value="{c["id"]}"]')
    page.select_option("#inbox-bulk select[name=assignee_id]", str(agent.staff_id))
    page.click("#bulk-assign")

    # then the page says so, and both are the agent's
    page.wait_for_selector(".toast-ok")
    assert "已分配 2 个会话" in page.inner_text(".toast-ok")
    for c in (first, second):
        assert shop.api.get(f"/api/v1/conversations/{c['id']}").json()["assignee_id"] == agent.staff_id
