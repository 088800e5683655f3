"""Review fixes on the order list, its batches and the archive: a restored order stays on the list,
a batch refuses a reason no order would take before it previews anything, the bulk bar cancels with
the same reason codes as the order page, and no phone-like number goes into the list's address."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from shangliao.orders.archive import archive_older_than
from tests.support.orders import act, make_order
from tests.test_console import HTMX

LONG_AGO = datetime(2011, 5, 1, 8, 0, tzinfo=UTC)


def status_of(shop, order: dict) -> tuple[str, bool]:
    found = shop.api.get(f"/api/v1/orders/{order['id']}").json()
    return found["status"], found["archived"]


def timeline(shop, order: dict) -> list[dict]:
    return shop.api.get(f"/api/v1/orders/{order['id']}/timeline").json()


# --- a restored order stays restored ---------------------------------------------------------------


def test_the_archive_job_leaves_an_order_someone_restored_on_the_list(runtime, shop, tee, frozen):
    # given an order cancelled long ago, archived by the job, then brought back by a person
    frozen(LONG_AGO)
    order = act(shop, make_order(shop, [(tee.variant_id, 1)]), "cancel", reason="duplicate")
    frozen(None)
    later = LONG_AGO + timedelta(days=365)
    assert archive_older_than(runtime.db, shop.id, later) == 1
    assert shop.api.post(f"/api/v1/orders/{order['id']}/restore").status_code == 200

    # when the nightly job runs again
    archived = archive_older_than(runtime.db, shop.id, later)

    # then the order stays on the list, and it can still be archived by hand
    assert archived == 0
    assert status_of(shop, order) == ("cancelled", False)
    assert act(shop, order, "archive")["archived"] is True


# --- the whole batch refuses a reason no order would take -----------------------------------------


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"reason": "bogus"}, "order.unknown_cancel_reason"),
        ({"reason": "other"}, "order.cancel_reason_note_required"),
    ],
)
@pytest.mark.parametrize("route", ["/api/v1/orders/batch/preview", "/api/v1/orders/batch"])
def test_a_batch_cancel_with_a_bad_reason_is_refused_before_any_order(shop, tee, route, params, code):
    order = make_order(shop, [(tee.variant_id, 1)])

    r = shop.api.post(route, json={"order_ids": [order["id"]], "action": "cancel", "params": params})

    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == code
    assert status_of(shop, order) == ("pending", False)


def test_one_order_cancel_with_an_unknown_reason_is_still_refused(shop, tee):
    order = make_order(shop, [(tee.variant_id, 1)])

    r = shop.api.post(f"/api/v1/orders/{order['id']}/cancel", json={"reason": "bogus"})

    assert r.status_code == 422 and r.json()["error"]["code"] == "order.unknown_cancel_reason"
    assert status_of(shop, order) == ("pending", False)


# --- the bulk bar cancels with reason codes -------------------------------------------------------


def test_the_bulk_bar_offers_the_cancel_reasons_of_the_order_page(console):
    page = console.get("/orders")

    bar = re.search(r'<form id="bulk".*?</form>', page.text, re.S)[0]
    assert 'type="radio" name="reason" value="out_of_stock"' in bar and "缺货" in bar
    assert 'name="other_reason"' in bar


def test_a_bulk_cancel_keeps_the_reason_code_and_reads_it_back(console, shop, tee):
    orders = [make_order(shop, [(tee.variant_id, 1)]) for _ in range(2)]
    ids = [str(o["id"]) for o in orders]

    asked = console.post("/orders/bulk", data={"action": "cancel", "reason": "out_of_stock", "ids": ids},
                         headers=HTMX)  # fmt: skip
    assert "取消原因：缺货" in asked.text
    confirm = dict(
        re.findall(r'<input type="hidden" name="(reason|other_reason)" value="([^"]*)"', asked.text)
    )
    done = console.post("/orders/bulk", headers=HTMX,
                        data={"action": "cancel", "confirmed": "1", "ids": ids, **confirm})  # fmt: skip

    assert 'data-succeeded="2"' in done.text
    for order in orders:
        found = shop.api.get(f"/api/v1/orders/{order['id']}").json()
        assert found["status"] == "cancelled" and found["cancel_reason"] == "out_of_stock"


def test_a_bulk_cancel_for_another_reason_keeps_the_words(console, shop, tee):
    order = make_order(shop, [(tee.variant_id, 1)])
    data = {
        "action": "cancel",
        "reason": "other",
        "other_reason": "客户要求合并发货",
        "ids": [str(order["id"])],
    }

    asked = console.post("/orders/bulk", data=data, headers=HTMX)
    done = console.post("/orders/bulk", data={**data, "confirmed": "1"}, headers=HTMX)

    assert "客户要求合并发货" in asked.text and 'data-succeeded="1"' in done.text
    found = shop.api.get(f"/api/v1/orders/{order['id']}").json()
    assert (found["cancel_reason"], found["cancel_note"]) == ("other", "客户要求合并发货")


def test_a_bulk_cancel_for_another_reason_without_words_changes_nothing(console, shop, tee):
    order = make_order(shop, [(tee.variant_id, 1)])

    r = console.post("/orders/bulk", data={"action": "cancel", "reason": "other", "ids": [str(order["id"])]},
                     headers=HTMX)  # fmt: skip

    assert r.status_code == 422 and "请简单写明原因" in r.text
    assert status_of(shop, order) == ("pending", False)


# --- no phone-like number in the list's address ----------------------------------------------------


@pytest.mark.parametrize("q", ["王小美 13912345678", "1391234567", "139 1234 5678", "0571-8888888"])
def test_a_search_holding_a_phone_like_number_stays_out_of_the_address(console, q):
    r = console.post("/orders", data={"tab": "confirmed", "q": q, "channel": "manual"}, headers=HTMX)

    assert r.headers["HX-Push-Url"] == "/orders?tab=confirmed&channel=manual"


def test_a_search_with_a_short_number_keeps_its_address(console):
    r = console.post("/orders", data={"tab": "confirmed", "q": "T恤 XL 2件"}, headers=HTMX)

    assert "q=" in r.headers["HX-Push-Url"]
