"""A device that typed a known customer's number, in Chromium against a live server: staff link it
from the inbox panel with one click; where SMS is set up, the shop page links it with a code."""

from __future__ import annotations

import re
import time

import pytest

from tests.support.browser import (  # noqa: F401 (fixtures)
    browser_fixture,
    live_fixture,
    live_shop_fixture,
    open_console,
)
from tests.support.chat import Device
from tests.support.chat_pages import WAIT, expect, introduce, open_chat, phone_context, wait_for_shop_socket
from tests.support.phone_claims import texted_code, texts

PHONE_NUMBER = "13812345678"


@pytest.fixture
def owner(live, shop):
    device = Device(live[0], shop.slug, "张三", PHONE_NUMBER)
    device.says("在吗")
    yield device
    device.http.close()


def test_staff_link_a_claiming_device_from_the_inbox_panel(browser, live, shop, owner):
    # given a second phone that typed 张三's number and wrote from its own conversation
    stranger = Device(live[0], shop.slug, "小张", PHONE_NUMBER)
    stranger.says("我换手机了")
    page = open_console(browser, live, shop)
    open_chat(page, live, stranger.conversation_id)
    # when staff see whom it says it is, and click Link
    claim = page.locator(f"[data-claim='{owner.customer_id}']")
    expect()(claim).to_contain_text("自称是 张三（138****5678）", timeout=WAIT)
    claim.locator("[data-link-claim]").click()
    # then the inbox moves to 张三's conversation, which has both chats and no claim left
    page.wait_for_url(re.compile(rf"/inbox/{owner.conversation_id}$"), timeout=WAIT)
    page.wait_for_selector("#inbox-panel")
    assert page.locator("[data-claim]").count() == 0
    merged = shop.api.get(f"/api/v1/conversations/{owner.conversation_id}").json()
    assert merged["merged_ids"] == [stranger.conversation_id] and merged["claims"] == []
    stranger.http.close()


def test_a_texted_code_links_the_phone_from_the_shop_page(browser, live, shop, owner, tmp_path, monkeypatch):
    # given a shop whose operator set up the local fake SMS gateway
    outbox = tmp_path / "sms.jsonl"
    monkeypatch.setattr(live[1].settings, "sms_gateway", f"file:{outbox}")
    context = phone_context(browser)
    page = context.new_page()
    # when a new phone introduces itself with 张三's number
    introduce(page, live, shop, name="张三", phone=PHONE_NUMBER)
    # then it is told the shop will confirm it, and offered a code
    expect()(page.locator("#claim-note")).to_be_visible(timeout=WAIT)
    page.click("#claim-send")
    expect()(page.locator("#claim-sent")).to_contain_text("验证码", timeout=WAIT)
    assert texts(outbox)[-1]["phone"] == PHONE_NUMBER
    # when it types the code the text message carries (not six digits of the shop's name in it)
    page.fill("#claim-code input[name=code]", texted_code(outbox))
    page.click("#claim-code button[type=submit]")
    # then the page comes back as 张三's phone: no claim, and what it writes reaches 张三's chat
    expect()(page.locator("#claim-note")).to_be_hidden(timeout=WAIT)
    wait_for_shop_socket(page)
    assert page.locator("#claim-code").count() == 0
    page.fill("#compose-text", "验证好了")
    page.press("#compose-text", "Enter")
    expect()(page.locator("#messages")).to_contain_text("验证好了", timeout=WAIT)
    # (the page draws a sent message before the server has stored it: ask until it has, bounded)
    deadline = time.monotonic() + WAIT / 1000
    while True:
        history = shop.api.get(f"/api/v1/conversations/{owner.conversation_id}/messages").json()
        if len(history) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [m["body"] for m in history] == ["在吗", "验证好了"]
    context.close()
