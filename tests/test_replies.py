"""Quick-reply templates: the defaults a shop starts with, managing them, `/shortcode` lookup, and
previews filled from the conversation's current order by plain substitution (never code)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from shangliao.replies import service
from shangliao.replies.models import ReplyTemplate
from shangliao.replies.service import render
from shangliao.shops.models import Shop
from tests.support.catalog import make_product
from tests.support.customers import make_customer
from tests.support.orders import act, make_order

API = "/api/v1/reply-templates"
SHIP = {"carrier_code": "SF", "tracking_number": "SF1234567890"}


def listed(shop, **params) -> list[dict]:
    r = shop.api.get(API, params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def create(shop, **body) -> dict:
    r = shop.api.post(API, json={"shortcode": "kd", "title": "快递说明", "body": "默认发{快递公司}", **body})
    assert r.status_code == 201, r.text
    return r.json()


def error(r, status: int) -> dict:
    assert r.status_code == status, r.text
    return r.json()["error"]


@pytest.fixture
def customer(runtime, shop) -> dict:
    """李四 and their conversation with the shop: ``{"id", "conversation_id"}``."""
    customer_id, _ = make_customer(runtime, shop, name="李四", phone="13900001111")
    r = shop.api.post(f"/api/v1/customers/{customer_id}/conversation")
    assert r.status_code == 200, r.text
    return {"id": customer_id, "conversation_id": r.json()["id"]}


@pytest.fixture
def goods(runtime, shop) -> tuple[int, int]:
    """A red M T-shirt at ¥59.00 and a bottle of water at ¥2.50: their variant ids."""
    # (PostgreSQL's jsonb keeps a spec's keys shortest first, SQLite as written: these agree.)
    tee = make_product(
        runtime, shop, name="T恤", options=["颜色", "尺码规格"],
        variants=[{"spec": {"颜色": "红色", "尺码规格": "M"}, "price": 5900}],
    )  # fmt: skip
    water = make_product(runtime, shop, name="矿泉水", price=250)
    return tee.variant_id, water.variant_id


def preview(shop, customer: dict, **body):
    return shop.api.post(f"/api/v1/conversations/{customer['conversation_id']}/reply-preview", json=body)


def template_id(shop, shortcode: str) -> int:
    return next(t["id"] for t in listed(shop) if t["shortcode"] == shortcode)


# --- defaults -------------------------------------------------------------------------------------


def test_a_new_shop_starts_with_chinese_defaults_in_every_category(shop):
    items = listed(shop)

    assert 8 <= len(items) <= 12
    categories = [t["category"] for t in items]
    assert list(dict.fromkeys(categories)) == [
        "order_confirmation",
        "shipping_notice",
        "after_sales",
        "custom",
    ]
    assert set(items[0]) == {"id", "category", "shortcode", "title", "body", "position"}
    bodies = " ".join(t["body"] for t in items)
    for variable in ("{客户名}", "{订单号}", "{金额}", "{商品}", "{快递公司}", "{物流单号}"):
        assert variable in bodies
    assert any("验货" in t["title"] and "签收" in t["body"] for t in items)
    # within a category, by position
    for category in set(categories):
        positions = [t["position"] for t in items if t["category"] == category]
        assert positions == sorted(positions)


def test_a_shop_that_predates_quick_replies_gets_the_defaults_once(runtime, shop):
    # Given a shop as it was before quick replies existed: no templates, no mark
    with runtime.db.write() as session:
        session.execute(delete(ReplyTemplate).where(ReplyTemplate.shop_id == shop.id))
        row = session.get(Shop, shop.id)
        row.settings = {}

    # When its staff first open the list, then the defaults are there
    assert len(listed(shop)) == len(service.DEFAULTS)

    # And when the owner deliberately deletes them all, they stay deleted
    for t in listed(shop):
        assert shop.api.delete(f"{API}/{t['id']}").status_code == 204
    assert listed(shop) == []
    with runtime.db.read() as session:
        assert session.scalar(select(Shop.settings).where(Shop.id == shop.id))[service.DEFAULTS_MARK]


def test_restoring_defaults_adds_only_those_whose_shortcode_is_free(shop):
    # Given the owner deleted one default and reused another's shortcode for their own reply
    shop.api.delete(f"{API}/{template_id(shop, 'hi')}")
    shop.api.delete(f"{API}/{template_id(shop, 'dd')}")
    own = create(shop, shortcode="DD", title="订单说明", body="自己写的")
    before = {t["shortcode"]: t for t in listed(shop)}

    # When they restore the defaults
    r = shop.api.post(f"{API}/restore-defaults")

    # Then the deleted ones come back, and their own reply is left alone
    assert r.status_code == 200, r.text
    assert [t["shortcode"] for t in r.json()["items"]] == ["hi"]
    after = {t["shortcode"]: t for t in listed(shop)}
    assert after["DD"] == own and set(after) == set(before) | {"hi"}
    assert shop.api.post(f"{API}/restore-defaults").json()["items"] == []


# --- managing them --------------------------------------------------------------------------------


def test_create_read_update_and_delete(shop):
    created = create(shop, category="shipping_notice", shortcode="/KD", title="快递说明")
    assert created["shortcode"] == "KD" and created["category"] == "shipping_notice"
    # it goes last in its category
    shipping = [t for t in listed(shop) if t["category"] == "shipping_notice"]
    assert shipping[-1] == created

    r = shop.api.patch(f"{API}/{created['id']}", json={"title": "发什么快递", "body": "默认{carrier}"})
    assert r.status_code == 200, r.text
    assert r.json() == {**created, "title": "发什么快递", "body": "默认{carrier}"}
    assert shop.api.get(f"{API}/{created['id']}").json() == r.json()

    moved = shop.api.patch(f"{API}/{created['id']}", json={"category": "custom"}).json()
    assert listed(shop, category="custom")[-1] == moved

    assert shop.api.delete(f"{API}/{created['id']}").status_code == 204
    assert error(shop.api.get(f"{API}/{created['id']}"), 404)["code"] == "reply_template.not_found"
    assert created["id"] not in [t["id"] for t in listed(shop)]


def test_a_shortcode_in_use_is_refused_with_409_whatever_its_case(shop):
    mine = create(shop, shortcode="kd")

    clash = shop.api.post(API, json={"shortcode": "KD", "title": "另一条", "body": "x"})
    assert error(clash, 409)["code"] == "reply_template.shortcode_taken"
    assert "/KD" in clash.json()["error"]["message"]

    # renaming another template onto it is refused too, and changes nothing
    other = template_id(shop, "qr")
    r = shop.api.patch(f"{API}/{other}", json={"shortcode": "/Kd", "title": "改了"})
    assert error(r, 409)["code"] == "reply_template.shortcode_taken"
    assert shop.api.get(f"{API}/{other}").json()["title"] == "订单确认"
    # a template keeps its own shortcode in another case
    assert shop.api.patch(f"{API}/{mine['id']}", json={"shortcode": "KD"}).json()["shortcode"] == "KD"


@pytest.mark.parametrize("shortcode", ["a b", "a-b", "快递!", "x" * 17, "/", "😀"])
def test_bad_shortcodes_are_refused(shop, shortcode):
    r = shop.api.post(API, json={"shortcode": shortcode, "title": "t", "body": "b"})
    assert r.status_code == 422, r.text
    assert len(listed(shop)) == len(service.DEFAULTS)


def test_chinese_and_underscored_shortcodes_are_fine(shop):
    assert create(shop, shortcode="发货_2")["shortcode"] == "发货_2"
    assert [t["shortcode"] for t in listed(shop, q="/发货_")] == ["发货_2"]


def test_bad_edits_are_refused_and_change_nothing(shop):
    t = create(shop)
    for body in ({"name": "x"}, {"title": None}, {"title": "x" * 41}, {"body": ""}, {"category": "spam"}):
        r = shop.api.patch(f"{API}/{t['id']}", json=body)
        assert r.status_code == 422, (body, r.text)
    assert shop.api.post(API, json={"shortcode": "ok", "title": "t", "body": "b" * 1001}).status_code == 422
    assert shop.api.get(f"{API}/{t['id']}").json() == t


def test_search_matches_a_shortcode_prefix_in_any_case_or_part_of_a_title(shop):
    create(shop, shortcode="q_x", title="自定义", category="custom")

    assert [t["shortcode"] for t in listed(shop, q="q")] == ["qr", "q_x"]
    assert [t["shortcode"] for t in listed(shop, q="/QR")] == ["qr"]
    assert [t["shortcode"] for t in listed(shop, q="验货")] == ["yh"]
    # "_" and "%" are text, not wildcards
    assert [t["shortcode"] for t in listed(shop, q="q_")] == ["q_x"]
    assert listed(shop, q="%") == []
    assert {t["category"] for t in listed(shop, category="after_sales")} == {"after_sales"}


# --- previews -------------------------------------------------------------------------------------


def test_preview_fills_the_template_from_the_customers_current_order(shop, customer, goods):
    tee, water = goods
    order = make_order(shop, [(tee, 2), (water, 1)], customer_id=customer["id"])
    act(shop, order, "confirm")
    act(shop, order, "ship", **SHIP)

    r = preview(shop, customer, template_id=template_id(shop, "fh"))

    assert r.status_code == 200, r.text
    out = r.json()
    assert out["order_id"] == order["id"] and out["missing"] == []
    assert out["text"] == (
        f"李四您好，您的订单 {order['number']} 已经发货啦！顺丰速运，运单号 SF1234567890，可以随时查询物流进度。"
    )
    assert out["variables"] == {
        "客户名": "李四",
        "订单号": order["number"],
        "金额": "¥120.50",
        "商品": "T恤 红色/M ×2，矿泉水 ×1",
        "快递公司": "顺丰速运",
        "物流单号": "SF1234567890",
    }


def test_the_current_order_is_the_newest_one_still_in_play(shop, customer, goods):
    tee, water = goods
    open_one = make_order(shop, [(tee, 1)], customer_id=customer["id"])
    done = make_order(shop, [(water, 3)], customer_id=customer["id"])
    act(shop, done, "confirm")
    act(shop, done, "ship", **SHIP)
    act(shop, done, "complete")
    cancelled = make_order(shop, [(water, 1)], customer_id=customer["id"])
    act(shop, cancelled, "cancel", reason="duplicate")

    # the unfinished order wins over a newer completed one; a cancelled one never counts
    assert preview(shop, customer, body="{订单号}").json()["text"] == open_one["number"]
    act(shop, open_one, "cancel", reason="duplicate")
    assert preview(shop, customer, body="{订单号}").json()["text"] == done["number"]


def test_preview_uses_the_order_it_is_given(shop, customer, goods):
    tee, water = goods
    first = make_order(shop, [(tee, 1)], customer_id=customer["id"])
    make_order(shop, [(water, 4)], customer_id=customer["id"])

    r = preview(shop, customer, body="{order_number} {items} {AMOUNT}", order_id=first["id"])

    assert r.json()["text"] == f"{first['number']} T恤 红色/M ×1 ¥59.00"
    assert r.json()["order_id"] == first["id"]


def test_variables_without_a_value_stay_as_typed_and_are_reported(shop, customer, goods):
    # Given no order yet: only the customer's name is known
    out = preview(shop, customer, template_id=template_id(shop, "fh")).json()
    assert out["order_id"] is None
    assert out["text"].startswith("李四您好，您的订单 {订单号} 已经发货啦！{快递公司}，运单号 {物流单号}")
    assert out["missing"] == ["订单号", "快递公司", "物流单号"]
    assert out["variables"]["金额"] is None

    # Given an order not shipped yet: no courier nor tracking number
    make_order(shop, [(goods[0], 1)], customer_id=customer["id"])
    out = preview(shop, customer, body="{快递公司} {物流单号} {快递公司} {金额}").json()
    assert out["text"] == "{快递公司} {物流单号} {快递公司} ¥59.00"
    assert out["missing"] == ["快递公司", "物流单号"]


HOSTILE = [
    "{__class__}",
    "{0}",
    "{0!r:>10}",
    "{{",
    "}}{",
    "{客户名.__dict__}",
    "{客户名[0]}",
    "{customer.__class__.__mro__}",
    "{{ config.items() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{% for x in range(10) %}{{ x }}{% endfor %}",
    "${{7*7}} #{7*7} %(name)s %s",
    "__import__('os').system('id')",
]


@pytest.mark.parametrize("body", HOSTILE)
def test_hostile_bodies_are_rendered_literally(shop, customer, body):
    r = preview(shop, customer, body=body)

    assert r.status_code == 200, r.text
    assert r.json()["text"] == body and r.json()["missing"] == []


def test_a_saved_hostile_template_previews_literally_too(shop, customer):
    t = create(shop, body="{{客户名}} {客户名.__init__.__globals__} {客户名}")
    out = preview(shop, customer, template_id=t["id"]).json()
    assert out["text"] == "{李四} {客户名.__init__.__globals__} 李四"


def test_rendering_is_one_pass_of_plain_substitution():
    # a value that looks like a variable is not expanded again
    assert render("{客户名}: {订单号}", {"客户名": "{订单号}", "订单号": "A1"}).text == "{订单号}: A1"
    # full-width braces and spaces, as a Chinese keyboard types them; English aliases in any case
    assert render("｛客户名｝ { 金额 } {Customer}", {"客户名": "王", "金额": "¥1.00"}).text == "王 ¥1.00 王"
    # backslashes and format specs in values are text
    assert render("{商品}", {"商品": r"\1 {0} %s"}).text == r"\1 {0} %s"
    rendered = render("{物流单号}{unknown}{物流单号}", {})
    assert (rendered.text, rendered.missing) == ("{物流单号}{unknown}{物流单号}", ["物流单号"])


def test_preview_needs_exactly_one_of_template_or_body(shop, customer):
    assert preview(shop, customer).status_code == 422
    assert preview(shop, customer, body="x", template_id=template_id(shop, "qr")).status_code == 422
    assert preview(shop, customer, body="x", extra=1).status_code == 422


# --- who may ------------------------------------------------------------------------------------


def test_other_shops_get_404_for_templates_conversations_and_orders(
    shop, other_shop, customer, goods, runtime
):
    mine = create(shop)
    assert error(other_shop.api.get(f"{API}/{mine['id']}"), 404)["code"] == "reply_template.not_found"
    assert other_shop.api.patch(f"{API}/{mine['id']}", json={"title": "x"}).status_code == 404
    assert other_shop.api.delete(f"{API}/{mine['id']}").status_code == 404
    assert mine["id"] not in [t["id"] for t in listed(other_shop)]
    assert shop.api.get(f"{API}/{mine['id']}").json() == mine

    # their conversation, their template, or an order that is not this customer's: 404
    assert preview(other_shop, customer, body="x").status_code == 404
    theirs = listed(other_shop)[0]["id"]
    assert error(preview(shop, customer, template_id=theirs), 404)["code"] == "reply_template.not_found"
    stranger, _ = make_customer(runtime, shop, name="王五", phone="13900002222")
    strangers_order = make_order(shop, [(goods[0], 1)], customer_id=stranger)
    r = preview(shop, customer, body="{订单号}", order_id=strangers_order["id"])
    assert error(r, 404)["code"] == "order.not_found"


def test_a_token_without_chat_templates_may_read_and_preview_but_not_manage(app, shop, customer):
    from fastapi.testclient import TestClient

    r = shop.api.post("/api/v1/auth/tokens", json={"name": "客服", "scopes": ["chat.read", "chat.write"]})
    agent = TestClient(
        app, headers={"Authorization": f"Bearer {r.json()['token']}"}, raise_server_exceptions=False
    )
    qr = template_id(shop, "qr")

    assert agent.get(API, params={"q": "qr"}).status_code == 200
    previewed = agent.post(
        f"/api/v1/conversations/{customer['conversation_id']}/reply-preview", json={"template_id": qr}
    )
    assert previewed.status_code == 200, previewed.text
    refused = [
        agent.post(API, json={"shortcode": "x1", "title": "t", "body": "b"}),
        agent.patch(f"{API}/{qr}", json={"title": "改"}),
        agent.delete(f"{API}/{qr}"),
        agent.post(f"{API}/restore-defaults"),
    ]
    for r in refused:
        assert error(r, 403)["code"] == "auth.forbidden"
    assert shop.api.get(f"{API}/{qr}").json()["title"] == "订单确认"
