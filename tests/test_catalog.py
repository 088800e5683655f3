"""Products and variants over the API: create with initial stock, read, list, edit, refusals."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import func, select

from shangliao.catalog.models import Product
from shangliao.core.pagination import encode_cursor
from shangliao.events.models import EventLogEntry
from shangliao.inventory.models import StockMovement
from tests.support.catalog import make_product

API = "/api/v1"


def tee(sku_prefix: str = "TS", **overrides) -> dict:
    body = {
        "name": "纯棉T恤",
        "description": "夏季新款",
        "images": ["https://img.example.com/t.jpg"],
        "options": ["颜色", "尺码"],
        "low_stock_threshold": 2,
        "variants": [
            {
                "sku": f"{sku_prefix}-RED-M",
                "spec": {"颜色": "红色", "尺码": "M"},
                "price": 5900,
                "on_hand": 5,
            },
            {
                "sku": f"{sku_prefix}-RED-L",
                "spec": {"尺码": "L", "颜色": "红色"},
                "price": 6900,
                "on_hand": 0,
            },
        ],
    }
    body.update(overrides)
    return body


def events_of(rt, shop_id: int, type_: str) -> list[SimpleNamespace]:
    """The shop's logged events of one type, oldest first (plain values, usable after the session)."""
    log = EventLogEntry.__table__
    with rt.db.read() as s:
        rows = s.execute(
            select(log).where(log.c.shop_id == shop_id, log.c.type == type_).order_by(log.c.seq)
        ).mappings()
        return [SimpleNamespace(**row) for row in rows]


def product_count(rt, shop_id: int) -> int:
    with rt.db.read() as s:
        return s.scalar(select(func.count()).select_from(Product).where(Product.shop_id == shop_id))


def ledger(rt, variant_id: int) -> list[SimpleNamespace]:
    moves = StockMovement.__table__
    with rt.db.read() as s:
        rows = s.execute(
            select(moves).where(moves.c.variant_id == variant_id).order_by(moves.c.id)
        ).mappings()
        return [SimpleNamespace(**row) for row in rows]


# --- create ---------------------------------------------------------------------------------------


def test_create_product_books_initial_stock_in_the_ledger(shop, runtime):
    r = shop.api.post(f"{API}/products", json=tee())
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["options"] == ["颜色", "尺码"]
    assert p["price_min"] == 5900 and p["price_max"] == 6900
    assert len(p["share_token"]) >= 20
    red_m, red_l = p["variants"]
    assert (red_m["on_hand"], red_m["reserved"], red_m["available"], red_m["backorder"]) == (5, 0, 5, 0)
    assert red_m["spec_label"] == "红色 / M" and not red_m["low_stock"]
    assert red_l["available"] == 0 and red_l["low_stock"]

    moves = ledger(runtime, red_m["id"])
    assert [(m.kind, m.on_hand_delta, m.reason, m.actor_id) for m in moves] == [
        ("adjust", 5, "initial stock", shop.owner_id)
    ]
    assert ledger(runtime, red_l["id"]) == []  # nothing to book for zero stock
    created = events_of(runtime, shop.id, "product.created")
    assert [(e.entity_id, e.data["variant_ids"]) for e in created] == [(p["id"], [red_m["id"], red_l["id"]])]


def test_share_tokens_differ_between_products(shop):
    a = shop.api.post(f"{API}/products", json=tee("A")).json()
    b = shop.api.post(f"{API}/products", json=tee("B")).json()
    assert a["share_token"] != b["share_token"]


def test_product_without_options_has_exactly_one_plain_variant(shop, runtime):
    one = {"sku": "MUG-1", "price": 1500, "on_hand": 3}
    ok = shop.api.post(f"{API}/products", json={"name": "马克杯", "variants": [one]})
    assert ok.status_code == 201, ok.text
    assert ok.json()["variants"][0]["spec"] == {}

    two = shop.api.post(
        f"{API}/products", json={"name": "杯", "variants": [{**one, "sku": "M2"}, {**one, "sku": "M3"}]}
    )
    assert two.status_code == 422
    assert two.json()["error"]["code"] == "product.single_variant"
    with_spec = shop.api.post(
        f"{API}/products", json={"name": "杯", "variants": [{**one, "sku": "M4", "spec": {"颜色": "白"}}]}
    )
    assert with_spec.json()["error"]["code"] == "product.spec_mismatch"
    assert product_count(runtime, shop.id) == 1


def test_spec_keys_must_equal_the_options(shop, runtime):
    missing = tee()
    missing["variants"][1]["spec"] = {"颜色": "红色"}
    r = shop.api.post(f"{API}/products", json=missing)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "product.spec_mismatch"
    assert err["details"] == {"sku": "TS-RED-L", "expected": ["颜色", "尺码"], "given": ["颜色"]}
    assert "TS-RED-L" in err["message"]

    extra = tee()
    extra["variants"][0]["spec"]["材质"] = "棉"
    assert shop.api.post(f"{API}/products", json=extra).json()["error"]["code"] == "product.spec_mismatch"
    assert product_count(runtime, shop.id) == 0


def test_the_same_option_combination_twice_is_refused(shop):
    body = tee()
    body["variants"][1]["spec"] = {"颜色": "红色", "尺码": "M"}
    r = shop.api.post(f"{API}/products", json=body)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "product.duplicate_spec"


def test_duplicate_sku_in_the_request_is_refused(shop, runtime):
    body = tee()
    body["variants"][1]["sku"] = "TS-RED-M"
    r = shop.api.post(f"{API}/products", json=body)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "product.duplicate_sku"
    assert r.json()["error"]["details"] == {"sku": "TS-RED-M"}
    assert product_count(runtime, shop.id) == 0


def test_sku_taken_in_the_shop_is_a_409_naming_it(shop, other_shop, runtime):
    assert shop.api.post(f"{API}/products", json=tee()).status_code == 201
    again = tee(name="另一件")
    again["variants"][0]["sku"] = "NEW-1"
    r = shop.api.post(f"{API}/products", json=again, headers={"Accept-Language": "en"})
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "product.sku_taken"
    assert err["details"] == {"sku": "TS-RED-L"}
    assert err["message"] == "The SKU TS-RED-L is already used in this shop."
    zh = shop.api.post(f"{API}/products", json=again).json()["error"]["message"]
    assert "TS-RED-L" in zh and "已" in zh
    assert product_count(runtime, shop.id) == 1
    # SKUs are unique per shop, not across shops.
    assert other_shop.api.post(f"{API}/products", json=tee()).status_code == 201


def test_bad_fields_are_refused_and_change_nothing(shop, runtime):
    cases = [
        {"variants": [{"sku": "X-1", "spec": {"颜色": "红", "尺码": "M"}, "price": -1}]},
        {"variants": [{"sku": "X-1", "spec": {"颜色": "红", "尺码": "M"}, "price": 1, "on_hand": -3}]},
        {"variants": [{"sku": "X 1", "spec": {"颜色": "红", "尺码": "M"}, "price": 1}]},
        {"variants": [{"sku": "X-1", "spec": {"颜色": "红", "尺码": "M"}, "price": 1, "reserved": 2}]},
        {"variants": []},
        {"colour": "red"},
        {"low_stock_threshold": -1},
        {"images": ["javascript:alert(1)"]},
        {"images": [f"https://img.example.com/{i}.jpg" for i in range(21)]},
        {"options": ["颜色", "颜色"]},
        {"name": "  "},
    ]
    for change in cases:
        r = shop.api.post(f"{API}/products", json=tee(**change))
        assert r.status_code == 422, (change, r.text)
        assert r.json()["error"]["code"] == "request.invalid", change
    assert product_count(runtime, shop.id) == 0


# --- read and list --------------------------------------------------------------------------------


def test_get_product_shows_stock_per_variant(shop, runtime):
    ids = make_product(runtime, shop, options=["颜色"], stock=4, threshold=4)
    r = shop.api.get(f"{API}/products/{ids.product_id}")
    assert r.status_code == 200
    variants = r.json()["variants"]
    assert [v["id"] for v in variants] == ids.variant_ids
    assert all(v["available"] == 4 and v["low_stock"] for v in variants)
    one = shop.api.get(f"{API}/variants/{ids.variant_id}").json()
    assert one["product_id"] == ids.product_id and one["sku"] == ids.sku


def test_list_filters_and_searches(shop, runtime):
    plain = make_product(runtime, shop, name="帆布包", stock=10, threshold=2)
    low = make_product(runtime, shop, name="草帽", stock=1, threshold=2)
    pre = make_product(runtime, shop, name="羽绒服", presale=True, stock=0)
    off = make_product(runtime, shop, name="旧款帆布鞋", active=False)

    def ids(**params) -> list[int]:
        r = shop.api.get(f"{API}/products", params=params)
        assert r.status_code == 200, r.text
        return [p["id"] for p in r.json()["items"]]

    assert ids() == [off.product_id, pre.product_id, low.product_id, plain.product_id]
    assert ids(active="false") == [off.product_id]
    assert ids(presale="true") == [pre.product_id]
    assert ids(low_stock="true") == [low.product_id]
    assert ids(q="帆布") == [off.product_id, plain.product_id]
    assert ids(q=low.sku.lower()) == [low.product_id]
    assert ids(q="100%") == []  # LIKE wildcards are searched literally


def test_list_pages_with_a_cursor(shop, runtime):
    made = [make_product(runtime, shop, name=f"商品{i}").product_id for i in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = shop.api.get(f"{API}/products", params=params).json()
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made[::-1]
    assert shop.api.get(f"{API}/products", params={"limit": 101}).status_code == 422
    bad = shop.api.get(f"{API}/products", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "pagination.bad_cursor"


# --- edit -----------------------------------------------------------------------------------------


def test_patch_product_changes_given_fields_and_records_an_event(shop, runtime):
    ids = make_product(runtime, shop, name="旧名字")
    r = shop.api.patch(
        f"{API}/products/{ids.product_id}", json={"name": "新名字", "active": False, "low_stock_threshold": 3}
    )
    assert r.status_code == 200, r.text
    p = r.json()
    assert (p["name"], p["active"], p["low_stock_threshold"], p["presale"]) == ("新名字", False, 3, False)
    updated = events_of(runtime, shop.id, "product.updated")
    assert [sorted(e.data["fields"]) for e in updated] == [["active", "low_stock_threshold", "name"]]

    # The same values again change nothing and record nothing.
    shop.api.patch(f"{API}/products/{ids.product_id}", json={"name": "新名字"})
    assert len(events_of(runtime, shop.id, "product.updated")) == 1


def test_patch_product_refuses_unknown_and_null_fields(shop, runtime):
    ids = make_product(runtime, shop, name="保持不变")
    for body in ({"options": ["尺码"]}, {"on_hand": 5}, {"name": None}, {"price": 10}):
        r = shop.api.patch(f"{API}/products/{ids.product_id}", json=body)
        assert r.status_code == 422, body
        assert r.json()["error"]["code"] == "request.invalid"
    assert shop.api.get(f"{API}/products/{ids.product_id}").json()["name"] == "保持不变"


def test_add_variant_with_its_own_initial_stock(shop, runtime):
    ids = make_product(runtime, shop, options=["尺码"], variants=[{"spec": {"尺码": "S"}}])
    r = shop.api.post(
        f"{API}/products/{ids.product_id}/variants",
        json={"sku": f"{ids.sku}-XL", "spec": {"尺码": "XL"}, "price": 12000, "on_hand": 7},
    )
    assert r.status_code == 201, r.text
    v = r.json()
    assert (v["product_id"], v["on_hand"], v["available"]) == (ids.product_id, 7, 7)
    assert [(m.kind, m.on_hand_delta) for m in ledger(runtime, v["id"])] == [("adjust", 7)]
    product = shop.api.get(f"{API}/products/{ids.product_id}").json()
    assert [x["spec"]["尺码"] for x in product["variants"]] == ["S", "XL"]
    assert events_of(runtime, shop.id, "variant.created")[0].entity_id == v["id"]


def test_add_variant_refusals(shop, runtime):
    sized = make_product(runtime, shop, options=["尺码"], variants=[{"spec": {"尺码": "S"}}])
    plain = make_product(runtime, shop)
    url = f"{API}/products/{sized.product_id}/variants"

    def code(url_, body) -> tuple[int, str]:
        r = shop.api.post(url_, json=body)
        return r.status_code, r.json()["error"]["code"]

    assert code(url, {"sku": sized.sku, "spec": {"尺码": "M"}, "price": 1}) == (409, "product.sku_taken")
    assert code(url, {"sku": "NEW-S", "spec": {"尺码": "S"}, "price": 1}) == (422, "product.duplicate_spec")
    assert code(url, {"sku": "NEW-M", "spec": {"颜色": "M"}, "price": 1}) == (422, "product.spec_mismatch")
    assert code(url, {"sku": "NEW-M", "spec": {"尺码": "M"}, "price": -5}) == (422, "request.invalid")
    plain_url = f"{API}/products/{plain.product_id}/variants"
    assert code(plain_url, {"sku": "NEW-P", "price": 1}) == (422, "product.single_variant")


def test_update_variant_price_spec_and_deactivate(shop, runtime):
    ids = make_product(
        runtime, shop, options=["尺码"], variants=[{"spec": {"尺码": "S"}}, {"spec": {"尺码": "M"}}]
    )
    url = f"{API}/variants/{ids.variant_ids[0]}"
    r = shop.api.patch(url, json={"price": 100, "spec": {"尺码": "XS"}, "active": False})
    assert r.status_code == 200, r.text
    assert (r.json()["price"], r.json()["spec"], r.json()["active"]) == (100, {"尺码": "XS"}, False)
    assert sorted(events_of(runtime, shop.id, "variant.updated")[0].data["fields"]) == [
        "active",
        "price",
        "spec",
    ]
    # Inactive variants do not set the product's price range.
    assert shop.api.get(f"{API}/products/{ids.product_id}").json()["price_min"] == 9900

    dup = shop.api.patch(url, json={"spec": {"尺码": "M"}})
    assert (dup.status_code, dup.json()["error"]["code"]) == (422, "product.duplicate_spec")
    wrong = shop.api.patch(url, json={"spec": {"颜色": "红"}})
    assert wrong.json()["error"]["code"] == "product.spec_mismatch"
    for body in ({"on_hand": 50}, {"reserved": 0}, {"price": -1}, {"price": None}):
        r = shop.api.patch(url, json=body)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "request.invalid"), body
    assert shop.api.get(url).json()["on_hand"] == 10


# --- access ---------------------------------------------------------------------------------------


def test_another_shops_products_are_not_found_on_every_route(shop, other_shop, runtime):
    theirs = make_product(runtime, other_shop, options=["尺码"], variants=[{"spec": {"尺码": "S"}}])
    p, v = theirs.product_id, theirs.variant_id
    calls = [
        ("get", f"{API}/products/{p}", None, "product.not_found"),
        ("patch", f"{API}/products/{p}", {"name": "x"}, "product.not_found"),
        (
            "post",
            f"{API}/products/{p}/variants",
            {"sku": "Z", "spec": {"尺码": "M"}, "price": 1},
            "product.not_found",
        ),
        ("get", f"{API}/variants/{v}", None, "variant.not_found"),
        ("patch", f"{API}/variants/{v}", {"price": 1}, "variant.not_found"),
        ("post", f"{API}/variants/{v}/stock-adjustments", {"delta": 5, "reason": "x"}, "variant.not_found"),
        ("get", f"{API}/variants/{v}/movements", None, "variant.not_found"),
    ]
    for method, url, body, code in calls:
        r = shop.api.request(method, url, json=body)
        assert r.status_code == 404, (method, url, r.text)
        assert r.json()["error"]["code"] == code
    assert shop.api.get(f"{API}/products").json()["items"] == []
    assert other_shop.api.get(f"{API}/variants/{v}").json()["on_hand"] == 10  # untouched


def test_a_read_only_token_cannot_write(shop):
    token = shop.api.post(f"{API}/auth/tokens", json={"name": "viewer", "scopes": ["catalog.read"]}).json()[
        "token"
    ]
    hdr = {"Authorization": f"Bearer {token}"}
    assert shop.api.get(f"{API}/products", headers=hdr).status_code == 200
    r = shop.api.post(f"{API}/products", json=tee(), headers=hdr)
    assert r.status_code == 403 and r.json()["error"]["code"] == "auth.forbidden"


def test_anonymous_callers_are_refused(anon):
    assert anon.get(f"{API}/products").status_code == 401
    assert anon.post(f"{API}/products", json=tee()).status_code == 401


# --- input a database cannot take -----------------------------------------------------------------


def test_true_or_false_is_not_a_price_and_changes_nothing(shop, runtime):
    # given a variant sold at 99.00
    product = make_product(runtime, shop, price=9900)
    # when a client sends a boolean for the price (Pydantic's lax mode read false as 0)
    r = shop.api.patch(f"{API}/variants/{product.variant_id}", json={"price": False})
    # then it is refused and the price stays
    assert r.status_code == 422 and r.json()["error"]["code"] == "request.invalid"
    assert shop.api.get(f"{API}/variants/{product.variant_id}").json()["price"] == 9900


def test_a_forged_cursor_with_a_huge_id_is_refused(shop, runtime):
    product = make_product(runtime, shop)
    # an id past 64 bits used to reach the driver and overflow there (a 500 on both databases)
    for url in (
        f"{API}/products",
        f"{API}/variants/{product.variant_id}/movements",
        f"{API}/inventory/low-stock",
    ):
        r = shop.api.get(url, params={"cursor": encode_cursor([2**70])})
        assert r.status_code == 422 and r.json()["error"]["code"] == "pagination.bad_cursor", url
