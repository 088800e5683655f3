"""The staff inbox pages over HTTP: the list and its tabs, the chat page with the customer and their
orders beside it, live-update fragments, the nav badge, shop isolation and escaping."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shangliao.web.console import inbox_pages
from tests.support.catalog import make_product
from tests.support.chat import customer_says, open_conversation
from tests.support.orders import make_order
from tests.test_console import HTMX, _untranslated, sign_in

STATIC = Path(inbox_pages.__file__).parent.parent / "static" / "console"


def shop_says(shop, conversation: dict, text: str) -> dict:
    r = shop.api.post(f"/api/v1/conversations/{conversation['id']}/messages", json={"body": text})
    assert r.status_code == 201, r.text
    return r.json()


def row_names(html: str) -> list[str]:
    return re.findall(r'class="row-name">([^<]+)<', html)


def boot_of(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="inbox-boot">(.*?)</script>', html, re.S)
    assert found, "the chat page carries its boot data"
    return json.loads(found.group(1))


@pytest.fixture
def chats(runtime, shop):
    """李四 wrote and nobody read it; 王五 was answered by the shop later."""
    lisi = open_conversation(runtime, shop, "李四", "13900001111")
    wangwu = open_conversation(runtime, shop, "王五", "13900002222")
    customer_says(runtime, shop, lisi, "请问还有M码吗")
    shop_says(shop, wangwu, "您好，已经发货啦")
    return lisi, wangwu


def test_the_list_shows_unread_conversations_first_with_their_last_message(console, chats):
    # given one conversation with an unread customer message and a newer one answered by the shop
    # when the owner opens the inbox
    r = console.get("/inbox")
    # then the unread one comes first, with its badge and its last message, and the nav links here
    assert r.status_code == 200, r.text
    assert row_names(r.text) == ["李四", "王五"]
    lisi_row = re.search(r'<li class="inbox-row unread.*?</li>', r.text, re.S).group(0)
    assert "请问还有M码吗" in lisi_row and 'class="unread-badge"' in lisi_row
    assert "您好，已经发货啦" in r.text
    assert 'href="/inbox" aria-current="page"' in r.text
    assert not _untranslated(r.text)


def test_tabs_filter_mine_unassigned_and_open_orders(console, shop, runtime, chats):
    lisi, wangwu = chats
    # given 李四 is assigned to the owner and 王五 has an order that is still open
    r = shop.api.put(f"/api/v1/conversations/{lisi['id']}/assignee", json={"assignee_id": shop.owner_id})
    assert r.status_code == 200, r.text
    tee = make_product(runtime, shop, name="纯棉T恤", stock=5, price=5900)
    make_order(shop, [(tee.variant_id, 1)], customer_id=wangwu["customer_id"])
    # when each tab is opened, then it holds only its conversations
    assert row_names(console.get("/inbox?filter=mine").text) == ["李四"]
    assert row_names(console.get("/inbox?filter=unassigned").text) == ["王五"]
    assert row_names(console.get("/inbox?filter=open_orders").text) == ["王五"]
    assert row_names(console.get("/inbox?filter=all").text) == ["李四", "王五"]
    # and an unknown tab is read as "all"
    assert row_names(console.get("/inbox?filter=nonsense").text) == ["李四", "王五"]


def test_a_closed_conversation_moves_to_the_closed_tab_and_can_be_reopened(console, shop, chats):
    lisi, _ = chats
    panel = console.get(f"/inbox/{lisi['id']}/panel", headers=HTMX).text
    assert 'data-set-status="closed"' in panel
    # when the shop closes it (as the panel's button does)
    r = shop.api.put(f"/api/v1/conversations/{lisi['id']}/status", json={"status": "closed"})
    assert r.status_code == 200, r.text
    # then it has left the open tabs for "closed", and its panel offers to reopen it
    assert row_names(console.get("/inbox").text) == ["王五"]
    assert row_names(console.get("/inbox?filter=closed").text) == ["李四"]
    assert console.get(f"/inbox/rows/{lisi['id']}?filter=all").status_code == 204
    assert 'data-set-status="open"' in console.get(f"/inbox/{lisi['id']}/panel", headers=HTMX).text


def test_load_more_brings_the_next_page(console, runtime, shop, monkeypatch):
    # given three conversations and pages of two
    for i in range(3):
        customer_says(runtime, shop, open_conversation(runtime, shop, f"客户{i}", f"1390000300{i}"), "在吗")
    monkeypatch.setattr(inbox_pages, "PAGE_SIZE", 2)
    first = console.get("/inbox")
    assert row_names(first.text) == ["客户2", "客户1"]
    more = re.search(r'hx-get="(/inbox\?filter=all&amp;cursor=[^"]+)"', first.text).group(1)
    # when "load more" is pressed
    r = console.get(more.replace("&amp;", "&"), headers=HTMX)
    # then the rest arrives as rows only, without another "more"
    assert r.status_code == 200
    assert row_names(r.text) == ["客户0"] and "<html" not in r.text and "inbox-more" not in r.text


def test_the_chat_page_shows_history_customer_and_orders(console, shop, runtime, chats):
    lisi, _ = chats
    tee = make_product(runtime, shop, name="纯棉T恤", stock=5, price=5900)
    order = make_order(shop, [(tee.variant_id, 2)], customer_id=lisi["customer_id"])
    card = shop.api.post(
        f"/api/v1/conversations/{lisi['id']}/messages", json={"kind": "order_card", "order_id": order["id"]}
    )
    assert card.status_code == 201, card.text
    shop.api.post(f"/api/v1/orders/{order['id']}/confirm", json={"version": order["version"]})
    # when the owner opens 李四's conversation
    r = console.get(f"/inbox/{lisi['id']}")
    # then the page holds the messages to draw, the masked phone, the order with its actions
    assert r.status_code == 200, r.text
    boot = boot_of(r.text)
    assert [m["kind"] for m in boot["messages"]] == ["text", "order_card"]
    # and the card's order as it is now (confirmed), not only as it was sent (pending)
    assert boot["messages"][1]["data"]["status"] == "pending"
    assert boot["orders"][str(order["id"])]["status"] == "confirmed"
    assert boot["conversation_id"] == lisi["id"] and boot["event_seq"] > 0
    assert boot["text"]["recalled_other"] == "对方撤回了一条消息"
    assert "139****1111" in r.text and "13900001111" not in r.text
    assert order["number"] in r.text
    panel = re.search(r'<li class="panel-order".*?</li>', r.text, re.S).group(0)
    assert 'data-order-dialog="ship-dialog"' in panel and 'data-order-dialog="cancel-dialog"' in panel
    assert 'data-send-order="details"' in panel and 'data-send-order="payment"' in panel
    assert boot["text"]["amount_due"] == "待付款" and boot["text"]["quote"] == "报价单"
    assert 'aria-current="page"' in re.search(rf'id="row-{lisi["id"]}".*?</li>', r.text, re.S).group(0)
    assert not _untranslated(r.text)


def test_the_panel_fragment_follows_the_order(console, shop, runtime, chats):
    lisi, _ = chats
    tee = make_product(runtime, shop, name="纯棉T恤", stock=5, price=5900)
    order = make_order(shop, [(tee.variant_id, 1)], customer_id=lisi["customer_id"])
    # given the order was confirmed through the order API, as the panel's button does
    r = shop.api.post(f"/api/v1/orders/{order['id']}/confirm", json={"version": order["version"]})
    assert r.status_code == 200, r.text
    # when the panel is fetched again
    panel = console.get(f"/inbox/{lisi['id']}/panel", headers=HTMX)
    # then it shows the new status and the next steps (ship), no longer "confirm"
    assert panel.status_code == 200 and "<html" not in panel.text
    assert 'data-status="confirmed"' in panel.text
    assert 'data-order-dialog="ship-dialog"' in panel.text and 'data-order-action="confirm"' not in panel.text


def test_a_row_fragment_answers_for_its_tab(console, shop, chats):
    lisi, _ = chats
    # given 李四 is nobody's yet: under "mine" there is no row (204), under "unassigned" there is
    assert console.get(f"/inbox/rows/{lisi['id']}?filter=mine").status_code == 204
    row = console.get(f"/inbox/rows/{lisi['id']}?filter=unassigned")
    assert row.status_code == 200 and row_names(row.text) == ["李四"]
    # when it is assigned to the owner, then the row belongs under "mine" and names who handles it
    shop.api.put(f"/api/v1/conversations/{lisi['id']}/assignee", json={"assignee_id": shop.owner_id})
    mine = console.get(f"/inbox/rows/{lisi['id']}?filter=mine")
    assert mine.status_code == 200 and "店主" in mine.text
    assert console.get(f"/inbox/rows/{lisi['id']}?filter=unassigned").status_code == 204


def test_another_shops_conversation_is_not_found(app, other_shop, chats):
    lisi, _ = chats
    stranger = sign_in(app, other_shop)
    for path in (f"/inbox/{lisi['id']}", f"/inbox/{lisi['id']}/panel", f"/inbox/rows/{lisi['id']}"):
        r = stranger.get(path)
        assert r.status_code == 404, (path, r.status_code)
        assert "李四" not in r.text


def test_signed_out_visitors_are_sent_to_sign_in(anon, chats):
    r = anon.get(f"/inbox/{chats[0]['id']}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_a_customers_markup_is_shown_as_text(console, shop, runtime, chats):
    lisi, _ = chats
    # given a customer who writes markup
    customer_says(runtime, shop, lisi, "<img src=x onerror=alert(1)>")
    customer_says(runtime, shop, lisi, "</script><script>alert('x')</script>")
    # when the inbox and the chat are opened
    listing = console.get("/inbox").text
    chat = console.get(f"/inbox/{lisi['id']}").text
    # then the preview is escaped, and the boot data cannot close its script element
    assert "&lt;/script&gt;&lt;script&gt;alert(" in listing
    assert "<script>alert(" not in listing and "<script>alert(" not in chat
    assert "<img src=x" not in listing and "<img src=x" not in chat
    assert [m["body"] for m in boot_of(chat)["messages"]][-2:] == [
        "<img src=x onerror=alert(1)>",
        "</script><script>alert('x')</script>",
    ]


def test_the_page_scripts_never_parse_message_text_as_html():
    # The inbox scripts draw messages with textContent (the browser tests show markup as text);
    # HTML is parsed only from what the server drew and escaped (a row, the panel).
    sources = [(STATIC / name).read_text() for name in ("inbox.js", "inbox-tools.js")]
    for source in sources:
        html_sinks = re.findall(r"\.innerHTML\s*=\s*([^;]+);", source)
        assert all("response.text()" in value for value in html_sinks), html_sinks
        assert "insertAdjacentHTML" not in source and "outerHTML" not in source
        assert "document.write" not in source and "eval(" not in source


def test_the_chat_page_speaks_english_when_asked(app, shop, chats):
    english = sign_in(app, shop, lang="en")
    r = english.get(f"/inbox/{chats[0]['id']}")
    assert r.status_code == 200, r.text
    assert boot_of(r.text)["text"]["recalled_other"] == "The customer recalled a message"
    assert "Assign to me" in r.text and "With open orders" in r.text


def test_a_recalled_last_message_says_who_took_it_back(console, shop, runtime, chats):
    from shangliao.auth import service as auth
    from shangliao.chat import service

    lisi, wangwu = chats
    # given a colleague's message and the owner's own, each recalled at once
    with runtime.db.write() as session:
        colleague = auth.do_create_staff(
            session, shop.id, username="xiaowang", password="long enough pw", display_name="小王"
        )
        colleague_id = colleague.id
    for conversation, sender in ((lisi, colleague_id), (wangwu, shop.owner_id)):
        with runtime.db.write() as session:
            sent = service.do_send(
                session, runtime.keyring, shop.id, conversation["id"],
                sender_type="staff", sender_id=sender, kind="text", body="发错了",
            )  # fmt: skip
            service.do_recall(
                session, runtime.keyring, shop.id, conversation["id"], sent.id, by_type="staff", by_id=sender
            )
    # when the owner looks at the list (the page, and each row as it updates live)
    page = console.get("/inbox").text
    lisi_row = console.get(f"/inbox/rows/{lisi['id']}").text
    wangwu_row = console.get(f"/inbox/rows/{wangwu['id']}").text
    # then each row says who took it back
    assert "同事撤回了一条消息" in lisi_row and "你撤回了一条消息" not in lisi_row
    assert "你撤回了一条消息" in wangwu_row and "同事撤回了一条消息" not in wangwu_row
    assert "同事撤回了一条消息" in page and "你撤回了一条消息" in page
