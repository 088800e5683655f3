"""The console's look, in Chromium against a live server. The inbox list on a 1366 px laptop: every
tab in sight, a long preview cut short before the time, and a list that stays put when a
conversation opens (reading it must not re-sort it under the pointer). The customers list on a
phone: nothing drawn over anything else."""

from __future__ import annotations

import pytest

from tests.support.browser import (  # noqa: F401 (fixtures)
    PHONE,
    browser_fixture,
    live_fixture,
    live_shop_fixture,
    open_console,
)
from tests.support.chat import Device
from tests.support.chat_pages import open_chat
from tests.support.customers import make_customer

LAPTOP = {"width": 1366, "height": 768}
LONG = "老板你好，" + "我想问一下这件衣服的面料是不是纯棉的，洗了会不会缩水，" * 6


@pytest.fixture
def customers(live, shop):
    """Three customers who wrote in turn (小红 first), none of them read yet."""
    devices = [
        Device(live[0], shop.slug, name, f"1370000{n:04d}") for n, name in enumerate(("小红", "小明", "小刚"))
    ]
    for device in devices:
        device.says(LONG if device is devices[-1] else "在吗")
    yield devices
    for device in devices:
        device.http.close()


def row_names(page) -> list[str]:
    return page.locator(".inbox-row .row-name").all_inner_texts()


def test_tabs_and_times_stay_in_sight_on_a_laptop(browser, live, shop, customers):
    page = open_console(browser, live, shop, viewport=LAPTOP)
    page.goto(live[0] + "/inbox")

    # every tab is inside the list pane, none behind a horizontal scroll
    pane = page.locator("#inbox-list").bounding_box()
    tabs = page.locator(".inbox-tabs .tab")
    assert tabs.count() == 5
    for n in range(tabs.count()):
        box = tabs.nth(n).bounding_box()
        assert box["x"] >= pane["x"] and box["x"] + box["width"] <= pane["x"] + pane["width"], tabs.nth(
            n
        ).inner_text()
    assert page.eval_on_selector(".inbox-tabs", "nav => nav.scrollWidth <= nav.clientWidth")
    # and in Chinese they fit on one line
    assert len({round(tabs.nth(n).bounding_box()["y"]) for n in range(tabs.count())}) == 1

    # the long preview is cut (an ellipsis), its row keeps the time and the unread count in sight
    row = page.locator(f"#row-{customers[-1].conversation_id}")
    assert row.locator(".row-preview").evaluate("p => p.scrollWidth > p.clientWidth")
    for part in (".row-time", ".unread-badge"):
        box = row.locator(part).bounding_box()
        assert box["x"] + box["width"] <= pane["x"] + pane["width"], part


def test_opening_a_conversation_leaves_the_list_in_place(browser, live, shop, customers):
    page = open_console(browser, live, shop, viewport=LAPTOP)
    page.goto(live[0] + "/inbox")
    before = row_names(page)
    assert before == ["小刚", "小明", "小红"]  # unread, newest first

    # when staff open the newest conversation, and reading it marks it read
    open_chat(page, live, customers[-1].conversation_id)
    page.wait_for_selector(f"#row-{customers[-1].conversation_id}[data-unread='0']")

    # then it stays where it was clicked, highlighted; the others have not moved
    assert row_names(page) == before
    assert page.locator(".inbox-row.current .row-name").inner_text() == "小刚"


def overlaps(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def test_a_customers_name_and_phone_do_not_overlap_on_a_phone(browser, live, shop):
    make_customer(live[1], shop, name="欧阳娜娜", phone="13912345678")
    page = open_console(browser, live, shop, viewport=PHONE)

    page.goto(live[0] + "/customers")

    row = page.locator(".customer-row").first
    name, phone = row.locator(".customer-name").bounding_box(), row.locator(".phone").bounding_box()
    assert not overlaps(name, phone), (name, phone)
