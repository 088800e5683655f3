"""The order list's text search: what it finds, what it never stores, and that it reads an index."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select

from shangliao.auth.scope import Scope
from shangliao.orders.listing import OrderQuery, all_matching_ids
from shangliao.orders.models import OrderSearchTerm
from shangliao.orders.search_terms import terms_for
from tests.support.catalog import make_product
from tests.support.orders import ADDRESS, make_order

LIST = "/api/v1/orders"


@pytest.fixture
def product(runtime, shop):
    return make_product(runtime, shop, stock=500, price=1000)


def named(shop, product, receiver: str, **fields) -> dict:
    return make_order(shop, [(product.variant_id, 1)], address={**ADDRESS, "receiver": receiver}, **fields)


def found(shop, q: str, **params) -> set[int]:
    r = shop.api.get(LIST, params={"q": q, "limit": 100, **params})
    assert r.status_code == 200, r.text
    return {o["id"] for o in r.json()["items"]}


def test_any_part_of_a_chinese_name_finds_the_order(runtime, shop, product):
    ouyang = named(shop, product, "欧阳小明")
    wang = named(shop, product, "王芳")

    for part in ("欧", "阳", "明", "欧阳", "小明", "阳小明", "欧阳小明"):
        assert found(shop, part) == {ouyang["id"]}, part
    assert found(shop, "芳") == {wang["id"]}
    assert found(shop, "明小") == set()  # characters of the name, not in its order
    assert found(shop, "欧阳小明明") == set()


def test_ascii_names_match_whatever_the_case(runtime, shop, product):
    alice = named(shop, product, "Alice Smith")
    named(shop, product, "Bob")

    for q in ("alice", "ALICE", "Smith", "ce sm", "a", "Alice Smith"):
        assert found(shop, q) == {alice["id"]}, q
    assert found(shop, "alicia") == set()
    assert found(shop, "%") == set() and found(shop, "_") == set()


def test_every_start_of_the_order_number_finds_it(runtime, shop, product, frozen):
    # given orders on two days
    frozen(datetime(2026, 3, 1, 4, 0, tzinfo=UTC))
    first = named(shop, product, "甲")
    frozen(datetime(2026, 3, 2, 4, 0, tzinfo=UTC))
    second = named(shop, product, "乙")
    frozen(None)
    number = second["number"]
    assert number.startswith("260302")

    # then each start of the number (any length but four) finds it, up to its own day
    for k in range(1, len(number) + 1):
        if k == 4:
            continue  # four digits mean a phone's last four or the end of a number
        hits = found(shop, number[:k])
        assert second["id"] in hits, number[:k]
        assert (first["id"] in hits) == (k <= 5), number[:k]
    # and four digits find the end of the number
    assert second["id"] in found(shop, number[-4:])


def test_search_terms_hold_no_phone_and_no_address(runtime, shop, product):
    # given an order shipped to a phone and an address
    order = named(shop, product, "张三")

    # when its search terms are read
    with runtime.db.read() as session:
        terms = set(
            session.scalars(select(OrderSearchTerm.term).where(OrderSearchTerm.order_id == order["id"]))
        )

    # then they are its number's and its name's, and nothing of the phone or the address (rule 12 of docs/architecture.md)
    assert terms == set(terms_for(order["number"], "张三"))
    for secret in (ADDRESS["phone"], ADDRESS["phone"][-4:], ADDRESS["phone"][:7], "文三", "西湖", "杭州"):
        assert not any(secret in term for term in terms), secret


@pytest.mark.parametrize("sort", ["-created_at", "created_at", "-total", "total"])
def test_pages_of_a_filtered_search_walk_every_match_once(runtime, shop, product, sort):
    # given orders named 李… with various totals and states, and others
    expected = []
    for i in range(7):
        order = make_order(
            shop,
            [],
            items=[{"variant_id": product.variant_id, "quantity": 1, "unit_price": 500 + 300 * (i % 3)}],
            address={**ADDRESS, "receiver": f"李{'一二三四五六七'[i]}"},
        )
        if i % 4 != 3 and order["total"] >= 800:
            expected.append(order["id"])
        if i % 4 == 3:
            shop.api.post(f"{LIST}/{order['id']}/cancel", json={"reason": "out_of_stock"})
    named(shop, product, "王五")
    params = {"status": "pending", "amount_min": 800, "q": "李", "sort": sort, "limit": 2}

    # when walking the pages
    seen: list[dict] = []
    cursor = None
    for _ in range(10):
        body = shop.api.get(LIST, params={**params, **({"cursor": cursor} if cursor else {})}).json()
        seen += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break

    # then every match comes once, in the sort order, and no other order
    assert sorted(o["id"] for o in seen) == sorted(expected)
    field = sort.lstrip("-")
    keys = [(o[field], o["id"]) for o in seen]
    assert keys == sorted(keys, reverse=sort.startswith("-"))
    with runtime.db.snapshot() as conn:
        query = OrderQuery(status=["pending"], amount_min=800, q="李")
        assert all_matching_ids(
            conn, runtime.keyring, Scope.whole_shop(shop.id), shop.timezone, query
        ) == set(expected)


def test_a_text_matching_several_ways_pages_without_repeats(runtime, shop, product):
    # given orders whose numbers start with 2, one of them also named with a 2
    placed = [named(shop, product, name) for name in ("客户2号", "甲", "乙", "丙", "丁")]

    # when walking the pages of "2" (every number's start, and a name)
    seen, cursor = [], None
    for _ in range(10):
        body = shop.api.get(
            LIST, params={"q": "2", "limit": 2, **({"cursor": cursor} if cursor else {})}
        ).json()
        seen += [o["id"] for o in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break

    # then each order comes exactly once, newest first
    assert seen == sorted((o["id"] for o in placed), reverse=True)


# --- the plan: an index lookup, never a walk over the shop's orders -------------------------------


def page_plan(runtime, shop, params: dict, client=None) -> str:
    """The database's plan for the statement that reads the first page of ``params`` (asked by
    ``client``, the owner's API client by default)."""
    sent: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, *_):
        if "FROM orders" in statement and "LIMIT" in statement:
            sent.append((statement, parameters))

    event.listen(runtime.db.reader, "before_cursor_execute", record)
    try:
        r = (client or shop.api).post("/api/v1/orders/search", json=params)
        assert r.status_code == 200, r.text
    finally:
        event.remove(runtime.db.reader, "before_cursor_execute", record)
    statement, parameters = sent[0]
    with runtime.db.read() as session:
        cursor = session.connection().connection.cursor()
        if runtime.db.is_sqlite:
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            return "\n".join(row[3] for row in cursor.fetchall())
        # A few test rows are cheaper to read whole: ask whether an index can answer at all.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + statement, parameters)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_a_name_search_in_a_tab_reads_the_term_index(runtime, shop, product):
    named(shop, product, "李雷")

    plan = page_plan(runtime, shop, {"status": ["pending"], "amount_min": 100, "q": "李"})

    if runtime.db.is_sqlite:
        assert "SEARCH order_search_terms USING PRIMARY KEY (shop_id=? AND term=?)" in plan, plan
        assert "SEARCH orders USING INTEGER PRIMARY KEY (rowid=?)" in plan, plan
        assert "SCAN orders" not in plan and "ix_orders_shop" not in plan, plan
    else:
        assert "pk_order_search_terms" in plan and "Seq Scan" not in plan, plan


def sqlite_only(runtime) -> None:
    # PostgreSQL plans by statistics, and a test shop's few rows say little about a big shop's:
    # its plans were checked with EXPLAIN ANALYZE on a seeded shop (docs/benchmarks.md).
    if not runtime.db.is_sqlite:
        pytest.skip("PostgreSQL chooses by statistics; checked on a seeded shop")


def test_last_four_digits_read_the_phone_indexes(runtime, shop, product):
    sqlite_only(runtime)
    named(shop, product, "韩梅梅")

    plan = page_plan(runtime, shop, {"q": "5678"})

    for index in ("ix_orders_shop_last4", "ix_customer_phones_shop_last4", "order_search_terms"):
        assert index in plan, plan
    assert "SCAN orders" not in plan and "ix_orders_shop_created" not in plan, plan


def test_a_long_number_start_reads_the_number_index(runtime, shop, product):
    sqlite_only(runtime)
    order = named(shop, product, "甲")

    plan = page_plan(runtime, shop, {"q": order["number"]})

    assert "uq_orders_shop_number" in plan and "ix_orders_shop_tracking" in plan, plan
    assert "SCAN orders" not in plan, plan


def test_the_tab_list_walks_its_status_index(runtime, shop, product):
    if not runtime.db.is_sqlite:
        pytest.skip("PostgreSQL chooses by statistics; checked on a seeded shop")
    named(shop, product, "甲")

    plan = page_plan(runtime, shop, {"status": ["pending"], "amount_min": 100})

    assert "ix_orders_shop_status_created" in plan, plan
    assert "USE TEMP B-TREE" not in plan, plan  # read in page order, no sort of the whole tab


def test_search_terms_of_another_shop_never_match(runtime, shop, other_shop, product):
    theirs = make_product(runtime, other_shop, stock=5)
    make_order(other_shop, [(theirs.variant_id, 1)], address={**ADDRESS, "receiver": "别家客人"})

    assert found(shop, "别家") == set() and found(other_shop, "别家") != set()
