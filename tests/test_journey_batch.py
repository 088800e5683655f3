"""Batch work on the order list that can be trusted: archived orders come back, a cancel or archive
of many orders shows what it would do before writing anything, the tabs count what the search
finds, and a view of the list has an address (never with a phone number in it)."""

from __future__ import annotations

import re

from tests.support.orders import ADDRESS, act, make_order
from tests.test_console import HTMX


def status_of(shop, order: dict) -> tuple[str, bool]:
    found = shop.api.get(f"/api/v1/orders/{order['id']}").json()
    return found["status"], found["archived"]


def counts(shop) -> dict[str, int]:
    return shop.api.get("/api/v1/orders/counts").json()


def tab_counts(html: str) -> dict[str, int]:
    found = re.findall(r'value="(\w+)" class="tab"[^>]*>\s*[^<]+<span class="count">(\d+)</span>', html)
    return {name: int(n) for name, n in found}


def archived_order(shop, tee) -> dict:
    order = act(shop, make_order(shop, [(tee.variant_id, 1)]), "cancel", reason="duplicate")
    act(shop, order, "archive")
    return order


# --- restore -------------------------------------------------------------------------------------


def test_an_archived_order_is_restored_under_its_status_and_the_timeline_says_so(shop, tee):
    order = archived_order(shop, tee)
    assert counts(shop)["archived"] == 1 and counts(shop)["cancelled"] == 0

    r = shop.api.post(f"/api/v1/orders/{order['id']}/restore")

    assert r.status_code == 200, r.text
    assert status_of(shop, order) == ("cancelled", False)
    assert counts(shop)["archived"] == 0 and counts(shop)["cancelled"] == 1
    kinds = [e["kind"] for e in shop.api.get(f"/api/v1/orders/{order['id']}/timeline").json()]
    assert kinds[-2:] == ["archived", "restored"]


def test_restoring_an_order_that_is_not_archived_is_refused_and_changes_nothing(shop, tee):
    order = make_order(shop, [(tee.variant_id, 1)])

    r = shop.api.post(f"/api/v1/orders/{order['id']}/restore")

    assert r.status_code == 409 and r.json()["error"]["code"] == "order.not_archived"
    assert status_of(shop, order) == ("pending", False)


def test_another_shops_order_cannot_be_restored(shop, other_shop, tee):
    order = archived_order(shop, tee)

    r = other_shop.api.post(f"/api/v1/orders/{order['id']}/restore")
    batch = other_shop.api.post(
        "/api/v1/orders/batch", json={"order_ids": [order["id"]], "action": "restore"}
    )

    assert r.status_code == 404
    assert batch.json()["results"][0]["error"]["status"] == 404
    assert status_of(shop, order) == ("cancelled", True)


def test_the_batch_api_restores_many_and_skips_what_is_not_archived(shop, tee):
    archived = [archived_order(shop, tee) for _ in range(2)]
    live = make_order(shop, [(tee.variant_id, 1)])

    r = shop.api.post(
        "/api/v1/orders/batch", json={"order_ids": [o["id"] for o in [*archived, live]], "action": "restore"}
    )

    assert r.json()["succeeded"] == 2 and r.json()["failed"] == 1
    assert [status_of(shop, o) for o in archived] == [("cancelled", False)] * 2


def test_the_archived_tab_restores_an_order_from_its_row(console, shop, tee):
    order = archived_order(shop, tee)
    page = console.post("/orders", data={"tab": "archived"}, headers=HTMX)
    assert "恢复" in page.text and f'"ids": "{order["id"]}"' in page.text

    r = console.post("/orders/bulk", data={"action": "restore", "ids": str(order["id"]), "tab": "archived"},
                     headers=HTMX)  # fmt: skip

    assert 'data-succeeded="1"' in r.text and "已处理" in r.text
    assert tab_counts(r.text)["archived"] == 0 and tab_counts(r.text)["cancelled"] == 1
    assert status_of(shop, order) == ("cancelled", False)


# --- preview before a cancel or archive ------------------------------------------------------------


def test_the_batch_preview_says_what_would_change_and_writes_nothing(shop, tee):
    pending = [make_order(shop, [(tee.variant_id, 1)]) for _ in range(2)]
    shipped = act(shop, act(shop, make_order(shop, [(tee.variant_id, 1)]), "confirm"), "ship",
                  carrier_code="SF", tracking_number="SF1234567890123")  # fmt: skip
    before = counts(shop)
    body = {
        "order_ids": [o["id"] for o in [*pending, shipped]],
        "action": "cancel",
        "params": {"reason": "out_of_stock"},
    }

    r = shop.api.post("/api/v1/orders/batch/preview", json=body)

    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["will_change"], out["will_skip"]) == (2, 1)
    assert out["results"][2]["error"]["code"] == "order.invalid_transition"
    assert counts(shop) == before
    assert [status_of(shop, o)[0] for o in [*pending, shipped]] == ["pending", "pending", "shipped"]


def test_a_bulk_cancel_in_the_console_asks_first_then_cancels_what_it_showed(console, shop, tee):
    pending = [make_order(shop, [(tee.variant_id, 1)]) for _ in range(2)]
    done = act(
        shop, make_order(shop, [(tee.variant_id, 1)]), "cancel", reason="other", reason_note="客户要求取消"
    )
    ids = [str(o["id"]) for o in [*pending, done]]

    asked = console.post(
        "/orders/bulk", data={"action": "cancel", "reason": "out_of_stock", "ids": ids}, headers=HTMX
    )

    assert 'data-will-change="2"' in asked.text and 'data-will-skip="1"' in asked.text
    assert "取消 2 个订单" in asked.text and done["number"] in asked.text
    assert [status_of(shop, o)[0] for o in pending] == ["pending", "pending"]
    confirmed_ids = re.findall(r'name="ids" value="(\d+)"', asked.text)
    assert confirmed_ids == [str(o["id"]) for o in pending]

    r = console.post("/orders/bulk", headers=HTMX,
                     data={"action": "cancel", "reason": "out_of_stock", "confirmed": "1", "ids": confirmed_ids})  # fmt: skip

    assert 'data-succeeded="2"' in r.text
    assert [status_of(shop, o)[0] for o in pending] == ["cancelled", "cancelled"]


def test_a_bulk_archive_asks_first_and_names_why_orders_are_skipped(console, shop, tee):
    live = make_order(shop, [(tee.variant_id, 1)])
    done = act(
        shop, make_order(shop, [(tee.variant_id, 1)]), "cancel", reason="other", reason_note="客户要求取消"
    )

    asked = console.post("/orders/bulk", data={"action": "archive", "ids": [str(live["id"]), str(done["id"])]},
                         headers=HTMX)  # fmt: skip

    assert 'data-will-change="1"' in asked.text and "只有已完成或已取消的订单可以归档" in asked.text
    assert status_of(shop, done) == ("cancelled", False)


# --- the outcome of a bulk action --------------------------------------------------------------------


def test_a_bulk_confirm_answers_outcomes_new_rows_and_new_counts(console, shop, tee):
    pending = [make_order(shop, [(tee.variant_id, 1)]) for _ in range(2)]
    make_order(shop, [(tee.variant_id, 1)])

    r = console.post("/orders/bulk", data={"action": "confirm", "ids": [str(o["id"]) for o in pending]},
                     headers=HTMX)  # fmt: skip

    outcomes = re.findall(r'<li class="ok">.*?</li>', r.text, re.S)
    assert len(outcomes) == 2 and all("已处理" in o and "完成" not in o for o in outcomes)
    for order in pending:
        row = re.search(rf'<tr class="order-row" id="order-row-{order["id"]}"[^>]*>.*?</tr>', r.text, re.S)
        assert row and 'hx-swap-oob="true"' in row[0] and "已确认" in row[0] and "checked" not in row[0]
    assert tab_counts(r.text)["pending"] == 1 and tab_counts(r.text)["confirmed"] == 2


def test_a_refused_order_reads_as_skipped_with_its_reason(console, shop, tee):
    done = act(shop, make_order(shop, [(tee.variant_id, 1)]), "confirm")

    r = console.post("/orders/bulk", data={"action": "confirm", "ids": [str(done["id"])]}, headers=HTMX)

    assert "已跳过：" in r.text and 'data-failed="1"' in r.text


# --- counts follow the search; a view has an address ----------------------------------------------------


def test_tab_counts_follow_the_search(console, shop, tee):
    wang = {**ADDRESS, "receiver": "王小美", "phone": "13912345678"}
    mine = [make_order(shop, [(tee.variant_id, 1)], address=wang) for _ in range(2)]
    act(shop, mine[0], "confirm")
    for _ in range(3):
        make_order(shop, [(tee.variant_id, 1)])

    everyone = console.post("/orders", data={"tab": "pending"}, headers=HTMX)
    searched = console.post("/orders", data={"tab": "pending", "q": "王小美"}, headers=HTMX)
    by_phone = console.post("/orders", data={"tab": "pending", "q": "13912345678"}, headers=HTMX)

    assert tab_counts(everyone.text)["pending"] == 4
    assert tab_counts(searched.text)["pending"] == 1 and tab_counts(searched.text)["confirmed"] == 1
    assert tab_counts(by_phone.text)["pending"] == 1 and tab_counts(by_phone.text)["confirmed"] == 1


def test_a_searched_view_gets_its_address_but_a_phone_never_goes_in_it(console, shop, tee):
    filtered = console.post(
        "/orders", data={"tab": "confirmed", "q": "王小美", "channel": "manual"}, headers=HTMX
    )
    by_phone = console.post("/orders", data={"tab": "confirmed", "q": "13912345678"}, headers=HTMX)

    url = filtered.headers["HX-Push-Url"]
    assert url.startswith("/orders?") and "tab=confirmed" in url and "channel=manual" in url and "q=" in url
    assert by_phone.headers["HX-Push-Url"] == "/orders?tab=confirmed"
    page = console.get(url)
    assert 'aria-current="true"' in page.text and 'value="王小美"' in page.text and "<html" in page.text


def test_going_back_to_a_pushed_address_answers_the_whole_page(console):
    r = console.get("/orders?tab=confirmed", headers={**HTMX, "HX-History-Restore-Request": "true"})

    assert "<html" in r.text and 'id="order-list"' in r.text


def test_the_order_page_restores_an_archived_order_and_its_timeline_says_so(console, shop, tee):
    order = archived_order(shop, tee)
    page = console.get(f"/orders/{order['id']}")
    assert f'action="/orders/{order["id"]}/restore"' in page.text

    r = console.post(f"/orders/{order['id']}/restore", headers=HTMX)

    assert r.status_code == 200 and "已从归档中恢复" in r.text
    assert f'action="/orders/{order["id"]}/restore"' not in r.text
    assert status_of(shop, order) == ("cancelled", False)


def test_a_bulk_tag_over_a_tag_filter_tags_only_what_the_filter_matches(console, shop, tee):
    vip = make_order(shop, [(tee.variant_id, 1)], tags=["vip"])
    other = make_order(shop, [(tee.variant_id, 1)])

    # The filter's tag and the tag to add are two fields: one narrows, the other is added.
    r = console.post(
        "/orders/bulk",
        data={"action": "tag", "add_tag": "回访", "all_matching": "1", "tab": "pending", "tag": "vip"},
        headers=HTMX,
    )

    assert 'data-succeeded="1"' in r.text
    assert shop.api.get(f"/api/v1/orders/{vip['id']}").json()["tags"] == ["vip", "回访"]
    assert shop.api.get(f"/api/v1/orders/{other['id']}").json()["tags"] == []
