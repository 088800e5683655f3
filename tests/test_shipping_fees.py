"""运费模板: the fee rule on hand-computed cases, and the fee applied to orders through the API."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shangliao.core.errors import Invalid
from shangliao.orders.models import Order
from shangliao.shipping.fees import FeeLine, compute_fee
from tests.support.catalog import make_product
from tests.support.chat import open_conversation
from tests.support.orders import ADDRESS, make_order

ZHEJIANG, XINJIANG, TIBET = "330000", "650000", "540000"
XINJIANG_ADDRESS = {**ADDRESS, "province": "新疆维吾尔自治区", "city": "乌鲁木齐市", "district": "天山区"}
TIBET_ADDRESS = {**ADDRESS, "province": "西藏自治区", "city": "拉萨市", "district": "城关区"}


def template(tid: int, **fields) -> dict:
    base = {
        "id": tid,
        "name": f"模板{tid}",
        "basis": "piece",
        "first_units": 1,
        "first_fee": 0,
        "further_units": 1,
        "further_fee": 0,
        "province_rules": [],
        "free_over_amount": None,
        "free_over_count": None,
        "excluded_provinces": [],
        "is_default": False,
    }
    return {**base, **fields}


# By piece: ¥10 the first, ¥5 each further; 新疆 ¥20 / ¥10; 西藏 not delivered to. The default.
PIECE = template(
    1,
    first_fee=1000,
    further_fee=500,
    province_rules=[{"provinces": [XINJIANG], "first_fee": 2000, "further_fee": 1000}],
    excluded_provinces=[TIBET],
    is_default=True,
)
# By weight: ¥12 the first 1000 g, ¥3 each further started 500 g.
WEIGHT = template(2, basis="weight", first_units=1000, first_fee=1200, further_units=500, further_fee=300)
# ¥8 a parcel, free from ¥99.
FREE_AMOUNT = template(3, first_fee=800, free_over_amount=9900)
# ¥6 for the first two pieces, ¥4 each further two, free from five pieces.
FREE_COUNT = template(4, first_units=2, first_fee=600, further_units=2, further_fee=400, free_over_count=5)
ALL = [PIECE, WEIGHT, FREE_AMOUNT, FREE_COUNT]


def line(template_id, quantity=1, *, weight=0, amount=1000) -> FeeLine:
    return FeeLine(template_id, weight, quantity, amount)


CASES = [
    # (what, lines, province, fee worked out by hand)
    ("one piece", [line(1)], ZHEJIANG, 1000),
    ("three pieces: first + 2 further", [line(1, 3)], ZHEJIANG, 1000 + 2 * 500),
    ("three pieces to 新疆: its own fees", [line(1, 3)], XINJIANG, 2000 + 2 * 1000),
    ("no address yet: the default fees", [line(1, 2)], None, 1500),
    ("two lines of one template count together", [line(1, 1), line(1, 2)], ZHEJIANG, 2000),
    ("no template named: the shop's default", [line(None, 2)], ZHEJIANG, 1500),
    ("800 g within the first 1000 g", [line(2, 2, weight=400)], ZHEJIANG, 1200),
    ("1001 g: one further 500 g started", [line(2, 1, weight=1001)], ZHEJIANG, 1200 + 300),
    ("2100 g: 1100 g over is 3 started 500 g", [line(2, 3, weight=700)], ZHEJIANG, 1200 + 3 * 300),
    ("not weighed: still the first fee", [line(2, 1)], ZHEJIANG, 1200),
    ("¥98.99: not yet free", [line(3, amount=9899)], ZHEJIANG, 800),
    ("¥99 exactly: free", [line(3, amount=9900)], ZHEJIANG, 0),
    ("four pieces: first two + one further two", [line(4, 4)], ZHEJIANG, 600 + 400),
    ("five pieces: free", [line(4, 5)], ZHEJIANG, 0),
    ("two templates: the sum", [line(1, 2), line(2, 1, weight=1500)], ZHEJIANG, 1500 + 1200 + 300),
]


@pytest.mark.parametrize(("what", "lines", "province", "fee"), CASES, ids=[c[0] for c in CASES])
def test_fee_cases_worked_out_by_hand(what, lines, province, fee):
    # given the four templates above, when the lines are priced for the province
    quoted = compute_fee(ALL, lines, province)
    # then the fee is the one worked out by hand
    assert quoted.applied and quoted.fee == fee, what


def test_without_templates_the_fee_is_not_applied():
    # given no template at all, or none that is the default for products naming none
    for templates in ([], [WEIGHT]):
        # when lines of products naming no template are priced
        quoted = compute_fee(templates, [line(None, 3)], ZHEJIANG)
        # then the templates leave the fee alone (the caller's stands)
        assert not quoted.applied and quoted.fee == 0


def test_an_excluded_region_is_refused_by_name():
    # given the piece template excludes 西藏, when an order for 西藏 is priced
    with pytest.raises(Invalid) as refused:
        compute_fee(ALL, [line(1)], TIBET)
    # then it is refused with the region named
    assert refused.value.code == "shipping.region_not_delivered"
    assert "西藏自治区" in refused.value.localized("en")


# --- through the API ------------------------------------------------------------------------------


def create_template(shop, **body) -> dict:
    r = shop.api.post("/api/v1/shipping-templates", json={"name": "默认运费", **body})
    assert r.status_code == 201, r.text
    return r.json()


def overridden(runtime, order_id: int) -> bool:
    with runtime.db.read() as session:
        return session.get(Order, order_id).shipping_fee_overridden


@pytest.fixture
def piece_template(shop):
    return create_template(
        shop,
        first_fee=1000,
        further_fee=500,
        province_rules=[{"provinces": [XINJIANG], "first_fee": 2000, "further_fee": 1000}],
        excluded_provinces=[TIBET],
    )


@pytest.fixture
def product(runtime, shop):
    return make_product(runtime, shop, price=2000, stock=100)


def test_the_first_template_is_the_default_and_prices_a_new_order(runtime, shop, piece_template, product):
    # given the shop's first template (made the default), when an order of 3 pieces is placed
    order = make_order(shop, [(product.variant_id, 3)])
    # then its fee is ¥10 + 2 × ¥5 and the total includes it; the fee is the template's, not set by hand
    assert piece_template["is_default"]
    assert order["shipping_fee"] == 2000
    assert order["total"] == 3 * 2000 + 2000
    assert not overridden(runtime, order["id"])


def test_a_fee_given_by_the_caller_stands_and_is_kept(runtime, shop, piece_template, product):
    # given an order placed with a fee of its own (包邮 agreed in the chat)
    order = make_order(shop, [(product.variant_id, 3)], shipping_fee=0)
    assert order["shipping_fee"] == 0 and overridden(runtime, order["id"])

    # when its items and address change
    r = shop.api.put(
        f"/api/v1/orders/{order['id']}/items",
        json={"items": [{"variant_id": product.variant_id, "quantity": 5}]},
    )
    assert r.status_code == 200, r.text
    r = shop.api.put(f"/api/v1/orders/{order['id']}/address", json={"address": XINJIANG_ADDRESS})
    assert r.status_code == 200, r.text

    # then the fee set by hand is kept
    assert r.json()["shipping_fee"] == 0


def test_the_fee_follows_item_and_address_changes(shop, piece_template, product):
    # given an order of one piece to 浙江 (¥10)
    order = make_order(shop, [(product.variant_id, 1)])
    assert order["shipping_fee"] == 1000

    # when it becomes four pieces: ¥10 + 3 × ¥5
    r = shop.api.put(
        f"/api/v1/orders/{order['id']}/items",
        json={"items": [{"variant_id": product.variant_id, "quantity": 4}]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["shipping_fee"] == 2500 and r.json()["total"] == 4 * 2000 + 2500

    # when it goes to 新疆 instead: ¥20 + 3 × ¥10
    r = shop.api.put(f"/api/v1/orders/{order['id']}/address", json={"address": XINJIANG_ADDRESS})
    assert r.status_code == 200, r.text
    assert r.json()["shipping_fee"] == 5000 and r.json()["total"] == 4 * 2000 + 5000


def test_changing_the_price_of_shipping_sets_the_override(runtime, shop, piece_template, product):
    # given an order priced by the template, when 改价 sets its fee
    order = make_order(shop, [(product.variant_id, 1)])
    r = shop.api.patch(f"/api/v1/orders/{order['id']}/price", json={"shipping_fee": 300})
    assert r.status_code == 200, r.text
    # then later item changes keep it
    r = shop.api.put(
        f"/api/v1/orders/{order['id']}/items",
        json={"items": [{"variant_id": product.variant_id, "quantity": 3}]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["shipping_fee"] == 300 and overridden(runtime, order["id"])


def test_an_order_to_an_excluded_region_is_refused_and_nothing_is_written(
    runtime, shop, piece_template, product
):
    # given the template does not deliver to 西藏
    with runtime.db.read() as session:
        before = session.scalar(select(func.count()).select_from(Order).where(Order.shop_id == shop.id))
    # when an order to 西藏 is placed
    r = shop.api.post(
        "/api/v1/orders",
        json={"items": [{"variant_id": product.variant_id, "quantity": 1}], "address": TIBET_ADDRESS},
    )
    # then it is refused naming the region, and no order exists
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "shipping.region_not_delivered"
    assert "西藏自治区" in r.json()["error"]["message"]
    with runtime.db.read() as session:
        assert (
            session.scalar(select(func.count()).select_from(Order).where(Order.shop_id == shop.id)) == before
        )


def test_an_address_change_to_an_excluded_region_is_refused(shop, piece_template, product):
    order = make_order(shop, [(product.variant_id, 1)])
    r = shop.api.put(f"/api/v1/orders/{order['id']}/address", json={"address": TIBET_ADDRESS})
    assert r.status_code == 422 and r.json()["error"]["code"] == "shipping.region_not_delivered"
    assert shop.api.get(f"/api/v1/orders/{order['id']}").json()["version"] == order["version"]


def test_two_templates_by_weight_and_piece_in_one_order(runtime, shop, piece_template):
    # given a heavy product on a weight template (¥12 first 1000 g, ¥3 per further 500 g), 1.2 kg each
    heavy = create_template(
        shop,
        name="大件",
        basis="weight",
        first_units=1000,
        first_fee=1200,
        further_units=500,
        further_fee=300,
    )
    rice = shop.api.post(
        "/api/v1/products",
        json={
            "name": "大米",
            "shipping_template_id": heavy["id"],
            "variants": [{"sku": "RICE-5", "price": 5000, "on_hand": 10, "weight_g": 1200}],
        },
    )
    assert rice.status_code == 201, rice.text
    tee = make_product(runtime, shop, price=2000)
    # when an order has 2 bags of rice (2400 g) and 2 T-shirts (default, by piece)
    order = make_order(shop, [(rice.json()["variants"][0]["id"], 2), (tee.variant_id, 2)])
    # then the fee is the rice's ¥12 + 3 × ¥3 plus the shirts' ¥10 + ¥5
    assert order["shipping_fee"] == (1200 + 900) + (1000 + 500)


def test_no_templates_keeps_todays_behaviour(runtime, shop, product):
    # given a shop without templates, when orders are placed with and without a fee
    assert make_order(shop, [(product.variant_id, 2)])["shipping_fee"] == 0
    assert make_order(shop, [(product.variant_id, 2)], shipping_fee=800)["shipping_fee"] == 800


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"first_fee": -1}, "request.invalid"),
        ({"further_units": 0}, "shipping.zero_unit"),
        ({"first_units": 0}, "shipping.zero_unit"),
        ({"excluded_provinces": ["999999"]}, "shipping.unknown_province"),
        ({"province_rules": [{"provinces": ["330100"], "first_fee": 1}]}, "shipping.unknown_province"),
        (
            {"excluded_provinces": [TIBET], "province_rules": [{"provinces": [TIBET], "first_fee": 1}]},
            "shipping.province_twice",
        ),
        ({"basis": "volume"}, "request.invalid"),
        ({"colour": "red"}, "request.invalid"),
    ],
)
def test_bad_templates_are_refused_and_nothing_is_saved(shop, body, code):
    r = shop.api.post("/api/v1/shipping-templates", json={"name": "坏模板", **body})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == code
    assert shop.api.get("/api/v1/shipping-templates").json()["items"] == []


def test_crud_and_one_default_per_shop(shop, piece_template):
    # given the default template, when a second one is made the default
    second = create_template(shop, name="顺丰", first_fee=2300, is_default=True)
    # then it alone is the default
    items = shop.api.get("/api/v1/shipping-templates").json()["items"]
    assert [(t["name"], t["is_default"]) for t in items] == [("顺丰", True), ("默认运费", False)]
    # when it is replaced and read back
    r = shop.api.put(
        f"/api/v1/shipping-templates/{second['id']}",
        json={"name": "顺丰特快", "first_fee": 2500, "is_default": True},
    )
    assert r.status_code == 200, r.text
    got = shop.api.get(f"/api/v1/shipping-templates/{second['id']}").json()
    assert (got["name"], got["first_fee"]) == ("顺丰特快", 2500)
    # when a name is taken twice
    assert shop.api.post("/api/v1/shipping-templates", json={"name": "顺丰特快"}).status_code == 409
    # when it is deleted, it is gone
    assert shop.api.delete(f"/api/v1/shipping-templates/{second['id']}").status_code == 204
    assert shop.api.get(f"/api/v1/shipping-templates/{second['id']}").status_code == 404


def test_another_shops_template_is_not_found(shop, other_shop, piece_template, product):
    # given another shop's template id
    tid = piece_template["id"]
    # when that shop reads, replaces or deletes it, or names it on a product
    assert other_shop.api.get(f"/api/v1/shipping-templates/{tid}").status_code == 404
    assert other_shop.api.put(f"/api/v1/shipping-templates/{tid}", json={"name": "x"}).status_code == 404
    assert other_shop.api.delete(f"/api/v1/shipping-templates/{tid}").status_code == 404
    r = other_shop.api.post(
        "/api/v1/products",
        json={"name": "x", "shipping_template_id": tid, "variants": [{"sku": "X-1", "price": 1}]},
    )
    # then it is a 404, and the template is unchanged
    assert r.status_code == 404 and r.json()["error"]["code"] == "shipping.template_not_found"
    assert shop.api.get(f"/api/v1/shipping-templates/{tid}").json()["name"] == "默认运费"


def test_a_product_names_and_drops_its_template(shop, piece_template, product):
    other = create_template(shop, name="包邮", first_fee=0)
    r = shop.api.patch(f"/api/v1/products/{product.product_id}", json={"shipping_template_id": other["id"]})
    assert r.status_code == 200 and r.json()["shipping_template_id"] == other["id"]
    assert make_order(shop, [(product.variant_id, 3)])["shipping_fee"] == 0
    r = shop.api.patch(f"/api/v1/products/{product.product_id}", json={"shipping_template_id": None})
    assert r.status_code == 200 and r.json()["shipping_template_id"] is None
    assert make_order(shop, [(product.variant_id, 3)])["shipping_fee"] == 2000


def test_an_order_drafted_in_the_chat_is_priced_unless_it_names_a_fee(runtime, shop, piece_template, product):
    # given a conversation with a customer
    conversation = open_conversation(runtime, shop, "小红", "13700001234")
    url = f"/api/v1/conversations/{conversation['id']}/orders"
    lines = [{"variant_id": product.variant_id, "quantity": 2}]
    # when a draft of 2 is made without a fee, and another with 包邮 agreed
    priced = shop.api.post(url, json={"items": lines})
    agreed = shop.api.post(url, json={"items": lines, "shipping_fee": 0})
    # then the first charges the template's default fees (no address yet), the second its own
    assert priced.status_code == 201, priced.text
    assert priced.json()["shipping_fee"] == 1500
    assert agreed.json()["shipping_fee"] == 0 and overridden(runtime, agreed.json()["id"])
