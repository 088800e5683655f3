"""The console over HTTP (as HTMX and as plain forms), on both databases.

The browser tests (test_console_browser.py) drive the same pages in Chromium; these check the
server's side of every page and refusal quickly and on PostgreSQL too.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from fastapi import Depends
from fastapi.testclient import TestClient

from shangliao.app import create_app
from shangliao.auth.access import staff
from shangliao.core.i18n import catalog
from tests.support.catalog import make_product
from tests.support.console import HTMX, sign_in
from tests.support.orders import ADDRESS, OWNER_ADDRESS, act, make_order, variant_stock
from tests.support.shops import OWNER_PASSWORD
from tests.test_i18n import marked_messages


def numbers_in(html: str) -> list[str]:
    return re.findall(r'class="number">(\w+)<', html)


def test_pages_need_a_sign_in_and_come_back_after_it(app, shop):
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    r = client.get("/orders")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/orders"
    r = client.post("/login", data={"username": shop.owner_username, "password": "wrong password"})
    assert r.status_code == 401 and "用户名或密码错误" in r.text and "set-cookie" not in r.headers
    r = client.post(
        "/login",
        data={"username": shop.owner_username, "password": OWNER_PASSWORD, "next": "/orders?tab=all"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/orders?tab=all"
    assert "httponly" in r.headers["set-cookie"].lower() and "samesite=lax" in r.headers["set-cookie"].lower()
    assert client.get("/orders").status_code == 200
    client.post("/logout")
    assert client.get("/orders").status_code == 303


def test_login_never_redirects_to_another_site(app, shop):
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        r = client.post(
            "/login", data={"username": shop.owner_username, "password": OWNER_PASSWORD, "next": target}
        )
        assert r.headers["location"] in ("/", target) and "evil" not in r.headers["location"].split("/")[2:3]
        assert not r.headers["location"].startswith("//")


def test_a_login_posted_from_another_site_is_refused(app, shop):
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    r = client.post(
        "/login",
        data={"username": shop.owner_username, "password": OWNER_PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403 and "set-cookie" not in r.headers


def test_the_list_shows_this_shops_orders_in_tabs_with_counts(console, shop, other_shop, runtime, tee):
    placed = [make_order(shop, [(tee.variant_id, 1)]) for _ in range(3)]
    act(shop, placed[0], "confirm")
    theirs = make_product(runtime, other_shop, stock=5)
    foreign = make_order(other_shop, [(theirs.variant_id, 1)])
    page = console.get("/orders").text
    assert set(numbers_in(page)) == {placed[1]["number"], placed[2]["number"]}
    assert foreign["number"] not in page
    counts = dict(
        re.findall(r'value="(\w+)" class="tab"[^>]*>\s*[^<]+<span class="count">(\d+)</span>', page)
    )
    assert counts["pending"] == "2" and counts["confirmed"] == "1"
    confirmed = console.post("/orders", data={"tab": "confirmed"}, headers=HTMX).text
    assert numbers_in(confirmed) == [placed[0]["number"]]


def test_drafts_have_a_tab_of_their_own(console, shop, tee):
    # given a draft (as made from a chat message) and a placed order
    draft = make_order(shop, [(tee.variant_id, 1)], draft=True)
    placed = make_order(shop, [(tee.variant_id, 1)])

    # then the draft tab lists the draft alone, with its count, and "all" leaves it out
    page = console.get("/orders?tab=draft").text
    assert numbers_in(page) == [draft["number"]]
    assert re.search(r'value="draft" class="tab"[^>]*>\s*草稿\s*<span class="count">1</span>', page)
    assert draft["number"] not in numbers_in(console.get("/orders?tab=all").text)
    assert placed["number"] in numbers_in(console.get("/orders?tab=all").text)


def test_search_by_number_name_and_last_four_digits(console, shop, tee):
    mine = make_order(
        shop, [(tee.variant_id, 1)], address={**ADDRESS, "receiver": "欧阳娜娜", "phone": "13900007788"}
    )
    other = make_order(shop, [(tee.variant_id, 1)])
    for q in (mine["number"], "欧阳", "7788"):
        found = numbers_in(console.post("/orders", data={"tab": "all", "q": q}, headers=HTMX).text)
        assert mine["number"] in found and other["number"] not in found, q


def test_a_phone_number_in_the_url_is_neither_used_nor_echoed(console, shop, tee):
    make_order(shop, [(tee.variant_id, 1)], address={**ADDRESS, "phone": "13900007788"})
    page = console.get("/orders?tab=all&q=13900007788").text
    assert "13900007788" not in page
    found = console.post("/orders", data={"tab": "all", "q": "13900007788"}, headers=HTMX).text
    assert len(numbers_in(found)) == 1


def test_bad_filters_are_explained_and_change_nothing(console, shop, tee):
    make_order(shop, [(tee.variant_id, 1)])
    r = console.post("/orders", data={"tab": "all", "amount_min": "十块"}, headers=HTMX)
    assert r.status_code == 422 and r.headers["HX-Retarget"] == "#toast"
    assert "金额以元为单位" in r.text and "Traceback" not in r.text
    r = console.get("/orders?amount_min=abc")
    assert r.status_code == 422 and "金额以元为单位" in r.text and "<html" in r.text


def test_amount_filters_take_yuan(console, shop, tee):
    cheap = make_order(shop, [(tee.variant_id, 1)])  # ¥59
    dear = make_order(shop, [(tee.variant_id, 3)])  # ¥177
    found = numbers_in(console.post("/orders", data={"tab": "all", "amount_min": "100"}, headers=HTMX).text)
    assert dear["number"] in found and cheap["number"] not in found


def test_more_pages_follow_without_repeats(console, shop, tee):
    placed = {make_order(shop, [(tee.variant_id, 1)])["number"] for _ in range(33)}
    first = console.post("/orders", data={"tab": "pending"}, headers=HTMX).text
    cursor = re.search(r'"cursor": "([^"]+)"', first).group(1)
    rest = console.post("/orders", data={"tab": "pending", "cursor": cursor}, headers=HTMX).text
    shown = numbers_in(first) + numbers_in(rest)
    assert len(shown) == len(set(shown)) == 33 and set(shown) == placed
    assert "Load more" not in rest and "加载更多" not in rest


def test_an_address_in_a_municipality_names_it_once(console, shop, tee):
    # given an order to 上海市 (province and city at once)
    order = make_order(shop, [(tee.variant_id, 1)], address=OWNER_ADDRESS)

    # then its page reads 上海市徐汇区, not 上海市上海市徐汇区 (the street masked until 显示)
    page = console.get(f"/orders/{order['id']}").text
    assert "上海市徐汇区 " in page and "上海市上海市" not in page
    # and an order in a province names both
    other = console.get(f"/orders/{make_order(shop, [(tee.variant_id, 1)])['id']}").text
    assert "浙江省杭州市西湖区 " in other


def test_confirm_ship_and_see_the_timeline(console, shop, tee):
    order = make_order(shop, [(tee.variant_id, 2)])
    r = console.post(f"/orders/{order['id']}/do/confirm", data={"version": order["version"]}, headers=HTMX)
    assert r.status_code == 200 and 'data-status="confirmed"' in r.text
    version = re.search(r'data-version="(\d+)"', r.text).group(1)
    assert 'data-open="ship-dialog"' in r.text and "/do/confirm" not in r.text  # only allowed steps
    r = console.post(
        f"/orders/{order['id']}/do/ship",
        data={
            "version": version,
            "carrier_code": "SF",
            "tracking_number": "SF1234567890",
            "ship_unpaid": "1",
        },
        headers=HTMX,
    )
    assert r.status_code == 200 and 'data-status="shipped"' in r.text
    assert "SF1234567890" in r.text and "kuaidi100.com" in r.text
    assert "顺丰速运" in r.text  # the courier by name, not its code
    page = console.get(f"/orders/{order['id']}").text
    assert page.count('class="event-status"') == 2 and "已发货" in page


def test_refusals_are_shown_with_what_to_do(console, shop, tee):
    order = make_order(shop, [(tee.variant_id, 1)])
    act(shop, order, "confirm")
    stale = console.post(
        f"/orders/{order['id']}/do/prepare", data={"version": order["version"]}, headers=HTMX
    )
    assert stale.status_code == 409 and "请刷新后重试" in stale.text
    r = console.post(
        f"/orders/{order['id']}/do/ship",
        data={
            "version": order["version"] + 1,
            "carrier_code": "SF",
            "tracking_number": "",
            "ship_unpaid": "1",
        },
        headers=HTMX,
    )
    assert r.status_code == 422 and r.headers["HX-Retarget"] == "#toast"
    plain = console.post(f"/orders/{order['id']}/do/complete", data={"version": order["version"] + 1})
    assert plain.status_code == 409 and "<html" in plain.text and "Traceback" not in plain.text


def test_cancel_with_a_listed_reason_releases_stock(console, shop, tee):
    order = make_order(shop, [(tee.variant_id, 3)])
    assert variant_stock(shop, tee.product_id, tee.variant_id)["reserved"] == 3
    r = console.post(
        f"/orders/{order['id']}/do/cancel",
        data={"version": order["version"], "reason": "out_of_stock"},
        headers=HTMX,
    )
    assert r.status_code == 200 and "取消原因：缺货" in r.text
    assert variant_stock(shop, tee.product_id, tee.variant_id)["reserved"] == 0


def test_notes_are_added_for_the_team(console, shop, tee):
    order = make_order(shop, [(tee.variant_id, 1)])
    r = console.post(f"/orders/{order['id']}/notes", data={"body": "  客户要求周末送达  "}, headers=HTMX)
    assert r.status_code == 200 and "客户要求周末送达" in r.text
    blank = console.post(f"/orders/{order['id']}/notes", data={"body": "   "}, headers=HTMX)
    assert blank.status_code == 422
    assert shop.api.get(f"/api/v1/orders/{order['id']}/notes").json()[0]["body"] == "客户要求周末送达"


def test_bulk_confirm_reports_every_order(console, shop, tee):
    pending = [make_order(shop, [(tee.variant_id, 1)]) for _ in range(3)]
    done = act(shop, make_order(shop, [(tee.variant_id, 1)]), "confirm")
    ids = [str(o["id"]) for o in [*pending, done]]
    r = console.post("/orders/bulk", data={"action": "confirm", "ids": ids, "tab": "all"}, headers=HTMX)
    assert r.status_code == 200
    assert 'data-succeeded="3"' in r.text and 'data-failed="1"' in r.text
    assert r.text.count('class="refused"') == 1 and done["number"] in r.text
    statuses = {shop.api.get(f"/api/v1/orders/{o['id']}").json()["status"] for o in pending}
    assert statuses == {"confirmed"}


def test_bulk_over_everything_the_filters_match(console, shop, tee):
    pending = [make_order(shop, [(tee.variant_id, 1)]) for _ in range(4)]
    r = console.post(
        "/orders/bulk", data={"action": "prepare", "all_matching": "1", "tab": "pending"}, headers=HTMX
    )
    assert 'data-succeeded="0"' in r.text and 'data-failed="4"' in r.text  # pending cannot skip confirming
    r = console.post(
        "/orders/bulk", data={"action": "confirm", "all_matching": "1", "tab": "pending"}, headers=HTMX
    )
    assert 'data-succeeded="4"' in r.text
    assert {shop.api.get(f"/api/v1/orders/{o['id']}").json()["status"] for o in pending} == {"confirmed"}


def test_bulk_without_a_selection_says_so(console):
    r = console.post("/orders/bulk", data={"action": "confirm"}, headers=HTMX)
    assert r.status_code == 422 and "请先勾选" in r.text


class _Text(HTMLParser):
    """Visible text and the attributes people read (placeholders, labels)."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in ("placeholder", "aria-label", "title") and value:
                self.chunks.append(value.strip())

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.chunks.append(data.strip())


def _untranslated(html: str) -> set[str]:
    english = {m for m, zh in catalog("zh_CN").items() if zh != m} & set(marked_messages())
    parser = _Text()
    parser.feed(html)
    return {chunk for chunk in parser.chunks if chunk in english}


def test_every_page_is_translated(app, shop, tee, runtime):
    order = make_order(shop, [(tee.variant_id, 1)])
    act(shop, order, "confirm")
    act(shop, order, "prepare")
    act(shop, order, "ship", carrier_code="SF", tracking_number="SF1234567890")
    pages = [
        "/orders",
        "/orders?tab=all",
        "/orders?tab=shipped",
        f"/orders/{order['id']}",
    ]
    zh = sign_in(app, shop)
    en = sign_in(app, shop, lang="en")
    anonymous = TestClient(app, raise_server_exceptions=False)
    assert _untranslated(anonymous.get("/login").text) == set()
    for path in pages:
        html = zh.get(path).text
        assert _untranslated(html) == set(), path
        assert "Pending" not in html and "待确认" in html, path
        english = en.get(path).text
        assert "待确认" not in english and "Pending" in english, path
    missing = zh.get("/orders/999999999")
    assert (
        missing.status_code == 404 and _untranslated(missing.text) == set() and "订单不存在" in missing.text
    )


def test_a_crash_shows_a_plain_message_never_a_trace(runtime, shop):
    """Given a console page that fails unexpectedly, the merchant sees an apology in their language
    and what to do; the operator's log gets the trace, the page does not."""
    app = create_app(runtime=runtime)

    def broken(_actor=Depends(staff("orders.read"))):
        raise RuntimeError("secret internals: /etc/shangliao")

    app.add_api_route("/orders-broken", broken)
    client = sign_in(app, shop)
    page = client.get("/orders-broken")
    assert page.status_code == 500 and "<html" in page.text and "出错了" in page.text
    assert "secret internals" not in page.text and "Traceback" not in page.text
    fragment = client.get("/orders-broken", headers=HTMX)
    assert fragment.status_code == 500 and fragment.headers["HX-Retarget"] == "#toast"
    assert "secret internals" not in fragment.text


def test_console_and_shop_pages_name_the_icon_the_browser_would_otherwise_miss(anon, shop):
    # given a browser that asks each page for its icon
    pages = [anon.get("/login").text, anon.get(f"/s/{shop.slug}").text]

    # then both the console and the shop page name it, and it is served
    assert all('<link rel="icon" href="/static/favicon.svg">' in page for page in pages)
    icon = anon.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
