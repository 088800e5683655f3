"""The team's console in a browser: the inbox's bulk assignment (inbox-bulk.js) and the owner's
nav, with 通知, 团队 and 操作日志, on a phone."""

from __future__ import annotations

from tests.support.browser import (  # noqa: F401 (fixtures)
    PHONE,
    browser_fixture,
    keep_screenshot,
    live_fixture,
    live_shop_fixture,
    no_csp_violations_fixture,
    open_console,
)
from tests.support.chat import open_conversation
from tests.support.team import make_member


def test_the_owners_nav_fits_on_one_line_of_a_phone(browser, live, shop):
    page = open_console(browser, live, shop, viewport=PHONE)
    page.goto(live[0] + "/inbox")

    links = page.eval_on_selector_all(
        ".nav a",
        "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.left, r.right, r.top]; })",
    )
    topbar = page.eval_on_selector(".topbar", "e => e.getBoundingClientRect().height")
    keep_screenshot(page, "inbox-nav", PHONE)

    # then all eight links (with 设置, issue 13) are on screen, on one line, and the topbar leaves
    # the phone its page
    assert len(links) == 8
    assert all(left >= 0 and right <= PHONE["width"] for left, right, _ in links)
    assert len({round(top) for _, _, top in links}) == 1
    assert topbar < 100


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
