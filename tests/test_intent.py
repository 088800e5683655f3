"""Order intent in chat messages: quantities, items, catalog matching and what is not an order.

Pure unit tests against the small test catalog in tests/data (no database). Accuracy over the
labelled set is measured by bench/intent.py, not asserted here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shangliao.intent.catalog import variant_from_dict
from shangliao.intent.numbers import chinese_int
from shangliao.intent.recognise import MAX_MESSAGE_CHARS, Catalog, CatalogVariant, Intent, recognise

DATA = Path(__file__).parent / "data"
T_SHIRT, HOODIE, JEANS, SOCKS, WATER, COLA, LEMON_TEA = 1, 2, 3, 4, 6, 7, 8
JERKY, CRISPS, APPLE, ORANGE, CREAM, MASK, TISSUE, CUP = 9, 11, 12, 13, 15, 16, 19, 21


def catalog_rows() -> list[dict]:
    return json.loads((DATA / "intent_catalog.json").read_text(encoding="utf-8"))


def labelled_rows() -> list[dict]:
    with (DATA / "intent_messages.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog(variant_from_dict(row) for row in catalog_rows())


def items(intent: Intent) -> list[tuple[int | None, int | None, int]]:
    return [(line.product_id, line.variant_id, line.quantity) for line in intent.lines]


# --- numerals and units ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numeral", "value"),
    [
        ("一", 1),
        ("两", 2),
        ("十", 10),
        ("十二", 12),
        ("二十", 20),
        ("二十五", 25),
        ("一百", 100),
        ("一百零五", 105),
        ("一百十", 110),
        ("两千", 2000),
        ("三万", 30000),
    ],
)
def test_chinese_numerals_are_read_as_numbers(numeral, value):
    # given a Chinese numeral, when it is read, then it has its value
    assert chinese_int(numeral) == value


def test_a_word_that_is_no_numeral_has_no_value():
    assert chinese_int("一下") is None


@pytest.mark.parametrize(
    ("message", "quantity", "unit"),
    [
        ("来两箱柠檬茶", 2, "箱"),
        ("我要二十包纸巾", 20, "包"),
        ("订一百瓶柠檬茶", 100, "瓶"),
        ("柠檬茶来俩", 2, None),
        ("袜子２双", 2, "双"),  # full-width digit
        ("柠檬茶 3 瓶", 3, "瓶"),
        ("柠檬茶×3", 3, None),
        ("柠檬茶x4", 4, None),
        ("柠檬茶来一打", 12, None),  # a dozen counts pieces
        ("柠檬茶半打", 6, None),
        ("再来个柠檬茶", 1, "个"),  # a unit right after the verb means one
        ("我要一双袜子", 1, "双"),  # 双 is what socks are sold in, not two of them
        ("我要柠檬茶", 1, None),  # not said: one
    ],
)
def test_quantities_and_units_are_read_as_written(catalog, message, quantity, unit):
    # when an order names one item with its quantity
    intent = recognise(message, catalog)
    # then the line carries that quantity and unit
    assert intent.is_order
    [line] = intent.lines
    assert (line.quantity, line.unit) == (quantity, unit)


def test_an_ordinal_is_no_quantity(catalog):
    # given "第一件" (the first one), when read, then nothing is ordered
    assert not recognise("第一件T恤有点小", catalog).is_order


def test_a_size_number_is_a_variant_not_a_quantity(catalog):
    # when a size is a number ("28码") next to the real quantity
    intent = recognise("帮我下单两条28码牛仔裤", catalog)
    # then the size picks the variant and the quantity stays 2
    assert items(intent) == [(JEANS, 301, 2)]


def test_a_weight_that_is_no_variant_of_the_product_is_its_quantity(catalog):
    # given "5斤", a box size of apples, said about oranges sold by weight
    intent = recognise("苹果10斤装来一箱，橙子5斤", catalog)
    # then the apples get the 10斤 box and the oranges a quantity of 5
    assert items(intent) == [(APPLE, 1202, 1), (ORANGE, 1301, 5)]


# --- several items ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "给我拿三包纸巾，两瓶柠檬茶",
        "给我拿三包纸巾、两瓶柠檬茶",
        "给我拿三包纸巾和两瓶柠檬茶",
        "给我拿三包纸巾 两瓶柠檬茶",
        "给我拿三包纸巾\n两瓶柠檬茶",
        "三包纸巾两瓶柠檬茶",
        "纸巾三包，再来两瓶柠檬茶",
        "纸巾三包 还要柠檬茶两瓶",
    ],
)
def test_items_are_split_on_any_separator(catalog, message):
    # when two items come in one message, however they are separated
    intent = recognise(message, catalog)
    # then each is a line of its own, in the order written
    assert items(intent) == [(TISSUE, 1901, 3), (LEMON_TEA, 801, 2)]


def test_variant_words_after_an_item_belong_to_the_next_one(catalog):
    intent = recognise("薯片原味两包番茄味三包", catalog)
    assert items(intent) == [(CRISPS, 1101, 2), (CRISPS, 1102, 3)]


def test_an_item_without_a_product_word_takes_the_product_just_ordered(catalog):
    intent = recognise("拖鞋42码两双 40码一双", catalog)
    assert items(intent) == [(5, 503, 2), (5, 502, 1)]


def test_variant_words_in_a_later_clause_refine_the_line_before(catalog):
    intent = recognise("可乐半打，要330ml的", catalog)
    assert items(intent) == [(COLA, 701, 6)]


def test_a_quantity_after_each_goes_to_every_item_before_it(catalog):
    # given "各" (each) after two products named without a quantity
    intent = recognise("苹果和香蕉各来一箱", catalog)
    # then both get one box
    assert items(intent) == [(APPLE, None, 1), (14, 1401, 1)]
    assert [line.unit for line in intent.lines] == ["箱", "箱"]


def test_an_unknown_item_ends_where_the_next_word_begins(catalog):
    intent = recognise("我要一个充电宝和两箱矿泉水", catalog)
    assert [line.text for line in intent.lines] == ["一个充电宝", "两箱矿泉水"]
    assert items(intent) == [(None, None, 1), (WATER, None, 2)]


def test_a_total_followed_by_its_breakdown_counts_once(catalog):
    intent = recognise("我想买两支口红，一支正红一支豆沙", catalog)
    assert items(intent) == [(17, 1701, 1), (17, 1702, 1)]


# --- catalog matching ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("kuangquanshui 两箱", (WATER, None, 2)),  # full pinyin
        ("kqs 两箱", (WATER, None, 2)),  # initials
        ("kuang泉水来一箱", (WATER, None, 1)),  # pinyin and characters mixed
        ("矿泉谁1.5L的要三瓶", (WATER, 602, 3)),  # a homophone typo
        ("tixu 黑色L 一件", (T_SHIRT, 108, 1)),  # T spelled out
        ("txu白色L码来一件", (T_SHIRT, 105, 1)),
        ("体恤白色M码两件", (T_SHIRT, 104, 2)),
        ("shupian yuanwei 来5包", (CRISPS, 1101, 5)),  # a variant word in pinyin too
    ],
)
def test_products_typed_in_pinyin_or_misspelt_are_found(catalog, message, expected):
    assert items(recognise(message, catalog)) == [expected]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("我要两件红色M码的纯棉圆领T恤", (T_SHIRT, 101, 2)),  # the full name
        ("再加一件黑色M的短袖", (T_SHIRT, 107, 1)),  # an alias
        ("来两箱550ml的矿泉水", (WATER, 601, 2)),  # the tail of the name
        ("给我来一件黑卫衣L码", (HOODIE, 203, 1)),  # one-character colour
        ("保温杯蓝色500ml一个", (CUP, 2104, 1)),  # two options
        ("再来三罐330的可乐", (COLA, 701, 3)),  # a measure without its unit
        ("来两份牛肉干 五香味", (JERKY, 901, 2)),
        ("红色M码两件", (T_SHIRT, 101, 2)),  # variant words alone name the product
    ],
)
def test_products_and_variants_are_matched_from_their_words(catalog, message, expected):
    assert items(recognise(message, catalog)) == [expected]


def test_a_variant_is_left_open_when_the_words_do_not_pick_one(catalog):
    # given a T-shirt in red, which comes in three sizes
    intent = recognise("来一件红色的T恤", catalog)
    # then the product is known and the variant left for staff
    assert items(intent) == [(T_SHIRT, None, 1)]


def test_a_single_variant_product_always_has_its_variant(catalog):
    assert items(recognise("订5份每日坚果", catalog)) == [(10, 1001, 5)]


# --- not orders ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "T恤有红色吗？",
        "多少钱",
        "两件多少钱",
        "两箱可乐多少钱",
        "买三箱有优惠吗",
        "什么时候发货",
        "还要多久才到啊",
        "上次买的T恤洗了就掉色",
        "昨天买的矿泉水少发了一箱",
        "我要退货",
        "好的谢谢",
        "在吗",
        "不要了",
        "先不买",
        "取消吧",
        "不要牛肉干了，取消那两包",
        "能便宜点吗，买两件的话",
        "刚拍了两件T恤，记得发顺丰",
        "给我看看T恤的图片",
    ],
)
def test_questions_complaints_chat_and_negations_are_not_orders(catalog, message):
    intent = recognise(message, catalog)
    assert not intent.is_order
    assert intent.lines == []


def test_a_negated_item_is_dropped_and_the_rest_ordered(catalog):
    intent = recognise("算了 不要面膜了 换成面霜一瓶", catalog)
    assert items(intent) == [(CREAM, 1501, 1)]


def test_a_request_phrased_as_a_question_is_an_order(catalog):
    assert items(recognise("能不能帮我发两箱柠檬茶过来", catalog)) == [(LEMON_TEA, 801, 2)]


def test_an_order_after_a_question_in_the_same_message_counts(catalog):
    intent = recognise("抽纸还有货吗，有的话拿两提", catalog)
    assert items(intent) == [(TISSUE, 1901, 2)]


# --- unknown items, empty catalog, odd input -------------------------------------------------------


def test_an_item_not_in_the_catalog_is_a_line_left_for_staff(catalog):
    # when a message orders a known item and an unknown one
    intent = recognise("我要两件红色M码的T恤，再来一个充电宝", catalog)
    # then it is an order; the unknown line has no product, quantity 1, and quotes its words
    assert intent.is_order
    first, second = intent.lines
    assert (first.text, first.product_id, first.variant_id, first.quantity) == ("两件红色M码的T恤", 1, 101, 2)
    assert (second.text, second.product_id, second.variant_id, second.quantity) == (
        "一个充电宝",
        None,
        None,
        1,
    )
    assert second.confidence < first.confidence


def test_line_text_quotes_the_message_as_written(catalog):
    [line] = recognise("Ｔ恤黑色ＸＬ两件", catalog).lines
    assert line.text == "Ｔ恤黑色ＸＬ两件"
    assert (line.variant_id, line.quantity) == (109, 2)


def test_with_an_empty_catalog_orders_still_come_through_as_unknown_lines():
    intent = recognise("来两个充电宝，再来一箱矿泉水", Catalog([]))
    assert intent.is_order
    assert items(intent) == [(None, None, 2), (None, None, 1)]


def test_input_past_the_cap_is_ignored(catalog):
    # given a message far longer than the cap, whose last item lies past it
    message = "我要两件T恤，" * (MAX_MESSAGE_CHARS // 7 + 10) + "再来一箱矿泉水"
    intent = recognise(message, catalog)
    # then the items before the cap are read and the one past it is not
    assert intent.is_order
    assert {line.product_id for line in intent.lines} == {T_SHIRT}


@pytest.mark.parametrize(
    "message", ["", " ", "\n\n", "😀😀🙏", "。。。，，？！", "……", "x", "打", "半打", "9999999件"]
)
def test_odd_input_is_no_order(catalog, message):
    assert recognise(message, catalog) == Intent(False, [], 0.0)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_any_text_gives_a_well_formed_intent(catalog, message):
    intent = recognise(message, catalog)
    assert intent.is_order == bool(intent.lines)
    assert 0.0 <= intent.score <= 1.0
    for line in intent.lines:
        assert line.quantity >= 1
        assert 0.0 <= line.confidence <= 1.0
        assert line.variant_id is None or line.product_id is not None


def test_catalog_variant_keeps_the_shape_other_code_relies_on():
    variant = CatalogVariant(7, 3, "纯棉圆领T恤", {"颜色": "红色"})
    assert variant.aliases == ()


# --- the labelled set --------------------------------------------------------------------------------


def test_the_test_catalog_is_well_formed():
    rows = catalog_rows()
    products = {row["product_id"] for row in rows}
    assert 15 <= len(products) <= 25
    assert len({row["variant_id"] for row in rows}) == len(rows)
    for product in products:
        names = {row["product_name"] for row in rows if row["product_id"] == product}
        assert len(names) == 1


def test_the_labelled_set_is_well_formed():
    rows = labelled_rows()
    variants = {row["variant_id"]: row["product_id"] for row in catalog_rows()}
    assert len(rows) >= 150
    assert len({row["text"] for row in rows}) == len(rows)
    assert sum(row["is_order"] for row in rows) >= 0.55 * len(rows)
    assert sum(row.get("note") == "holdout" for row in rows) >= 40
    for row in rows:
        assert set(row) <= {"text", "is_order", "lines", "note"}
        assert bool(row["lines"]) == row["is_order"], row["text"]
        for line in row["lines"]:
            assert line["quantity"] >= 1
            assert line["product_id"] is None or line["product_id"] in variants.values(), row["text"]
            if line["variant_id"] is not None:
                assert variants[line["variant_id"]] == line["product_id"], row["text"]
