"""A live notification, in Chromium: an agent has the console open on their phone; the owner
assigns them a conversation; without a reload the 通知 badge counts one and a toast says so, and
the toast leads to the conversation."""

from __future__ import annotations

import re

import httpx

from tests.support.browser import (  # noqa: F401 (fixtures)
    browser_fixture,
    live_fixture,
    live_shop_fixture,
    sign_in_member_on_phone,
)
from tests.support.chat import open_conversation
from tests.support.chat_pages import WAIT, expect
from tests.support.team import make_member


def test_an_agent_sees_a_conversation_assigned_to_them_live_on_their_phone(browser, live, shop):
    # Given an agent with the console open on their phone, nothing unread, and a customer's conversation
    url, runtime, _app = live
    agent = make_member(runtime, shop, role="agent")
    conversation = open_conversation(runtime, shop, "小林", "13900006666")
    page = sign_in_member_on_phone(browser, live, agent.username, lands_on=r"/(orders|inbox)")
    page.wait_for_function("() => document.documentElement.dataset.alertsSeq !== undefined")
    badge = page.locator("#nav-notifications")
    expect()(badge).to_have_text("")
    page.evaluate("() => { window.stillThisPage = true; }")  # gone if the page reloads

    # When the owner assigns the conversation to the agent
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {shop.token}"}) as owner:
        r = owner.put(
            f"/api/v1/conversations/{conversation['id']}/assignee", json={"assignee_id": agent.staff_id}
        )
        assert r.status_code == 200, r.text

    # Then, without a reload, the badge counts one and a toast says a conversation is theirs
    expect()(badge).to_have_text("1", timeout=WAIT)
    toast = page.locator(".live-toast")
    expect()(toast).to_have_text("有一个会话分配给你", timeout=WAIT)
    assert page.evaluate("() => window.stillThisPage === true")

    # And the toast leads to the conversation
    toast.click()
    page.wait_for_url(re.compile(rf"/inbox/{conversation['id']}$"))
