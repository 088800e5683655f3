"""Order intent over marketplace-style titles: brand + noun + spec + selling points, while customers
say the bare noun, a near-synonym or a one-character word ("牛奶", "纸巾", "水").

Pure unit tests against a small catalog written here (no database). Accuracy over the labelled
sets is the gate in tests/test_intent_accuracy.py.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shangliao.intent.recognise import Catalog, CatalogVariant, recognise

MILK, WATER, OIL, SHAMPOO, TISSUE, CHARGER, DIAPERS, CAT_FOOD, YOGURT = 1, 2, 3, 4, 5, 6, 7, 8, 9
SUNSUIT, SUNSCREEN, FORMULA, BAGS, ROLLS = 10, 11, 12, 13, 14

TITLES = {
    MILK: ("禾田 纯牛奶 250ml×12盒 整箱装", {}),
    WATER: ("清溪 饮用天然水 550ml×24瓶 整箱", {}),
    OIL: ("田园记 压榨花生油 5L 一级物理压榨", {}),
    SHAMPOO: ("青山 氨基酸洗发水 750ml 控油蓬松", {}),
    TISSUE: ("云朵 抽纸 3层120抽×24包 家用实惠装", {}),
    CHARGER: ("启明 快充充电宝 20000mAh 22.5W", {"颜色": ("白色", "黑色")}),
    DIAPERS: ("贝乐 婴儿纸尿裤 超薄透气 日夜用", {"尺码": ("M", "L")}),
    CAT_FOOD: ("小鹿 全价成猫粮 2kg 鸡肉味", {}),
    YOGURT: ("牧歌 风味酸奶 200g×10杯 低温冷藏", {"口味": ("原味", "草莓味")}),
    SUNSUIT: ("轻风 冰丝防晒衣 女 UPF50+", {"颜色": ("白色", "粉色")}),
    SUNSCREEN: ("晴空 清爽防晒霜 SPF50 50ml", {}),
    FORMULA: ("初语 婴幼儿配方奶粉 800g 罐装", {"段数": ("1段", "2段", "3段")}),
    BAGS: ("加厚垃圾袋 手提式 点断式", {}),
    ROLLS: ("云朵 卷纸 4层180g×10卷 有芯", {}),
}


def variant_id(product: int, index: int = 0) -> int:
    return product * 100 + 1 + index


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    variants = []
    for product, (title, options) in TITLES.items():
        (option, values), *_ = options.items() or [(None, (None,))]
        for index, value in enumerate(values):
            spec = {option: value} if option else {}
            variants.append(CatalogVariant(variant_id(product, index), product, title, spec))
    return Catalog(variants)


def lines(message: str, catalog: Catalog) -> list[tuple[int | None, int | None, int]]:
    intent = recognise(message, catalog)
    return [(line.product_id, line.variant_id, line.quantity) for line in intent.lines]


@pytest.mark.parametrize(
    ("message", "product"),
    [
        ("来两箱牛奶", MILK),
        ("洗发水来两瓶", SHAMPOO),
        ("猫粮拿两袋", CAT_FOOD),
        ("垃圾袋要两卷", BAGS),  # a title without a brand: its first word is the noun
    ],
)
def test_the_head_noun_of_a_marketplace_title_names_the_product(catalog, message, product):
    assert lines(message, catalog) == [(product, variant_id(product), 2)]


@pytest.mark.parametrize(
    ("message", "product"),
    [("纸巾拿两提", TISSUE), ("水来两箱", WATER), ("禾田的奶要两箱", MILK), ("油来两桶", OIL)],
)
def test_near_synonyms_and_one_character_nouns_name_the_product(catalog, message, product):
    assert lines(message, catalog) == [(product, variant_id(product), 2)]


@pytest.mark.parametrize("message", ["来两瓶酱油", "洗头水拿两瓶", "来两箱水果"])
def test_a_one_character_noun_inside_another_word_names_nothing(catalog, message):
    assert [product for product, _, _ in lines(message, catalog)] == [None]


@pytest.fixture(scope="module")
def plain() -> Catalog:
    """Products named by their plain noun, the way the older catalog names them."""
    return Catalog(
        CatalogVariant(p * 100 + 1, p, name, {}) for p, name in enumerate(("充电宝", "纸尿裤", "猫粮"))
    )


@pytest.mark.parametrize(
    "message", ["算了，充电宝不要了", "充电宝先不要了", "我要退款，纸尿裤买错码了", "上次买的猫粮坏了"]
)
def test_a_negation_after_the_item_and_a_wrong_purchase_are_not_orders(plain, message):
    assert recognise(message, plain).is_order is False


def test_asking_again_for_what_was_bought_before_is_an_order(catalog):
    assert lines("上次买的那个猫粮再来两袋", catalog) == [(CAT_FOOD, variant_id(CAT_FOOD), 2)]


def test_a_quantity_in_the_next_clause_is_the_one_the_item_left_unsaid(catalog):
    assert lines("酸奶要草莓味的，两箱", catalog) == [(YOGURT, variant_id(YOGURT, 1), 2)]


def test_a_named_item_before_another_item_is_ordered_too(catalog):
    assert lines("防晒衣粉色+防晒霜一支", catalog) == [
        (SUNSUIT, variant_id(SUNSUIT, 1), 1),
        (SUNSCREEN, variant_id(SUNSCREEN), 1),
    ]


def test_a_variant_value_with_a_digit_may_be_said_in_chinese(catalog):
    assert lines("奶粉一段的两罐", catalog) == [(FORMULA, variant_id(FORMULA), 2)]
    assert lines("奶粉要二段的两罐", catalog) == [(FORMULA, variant_id(FORMULA, 1), 2)]


def test_the_whole_title_copied_from_the_listing_names_the_product(catalog):
    assert lines("禾田 纯牛奶 250ml×12盒 整箱装 来两箱", catalog) == [(MILK, variant_id(MILK), 2)]


def test_a_brand_shared_by_no_other_product_names_its_product_with_a_quantity(catalog):
    assert lines("青山的要两瓶", catalog) == [(SHAMPOO, variant_id(SHAMPOO), 2)]


@pytest.mark.parametrize(
    ("title", "brand", "noun", "others"),
    [
        ("禾田 纯牛奶 250ml×12盒 整箱装", "禾田", "纯牛奶", ()),
        ("云朵 抽纸 3层120抽×24包 家用实惠装", "云朵", "抽纸", ()),
        ("极光 type-c 快充数据线 编织线", "极光", "快充数据线", ("type-c", "编织线")),
        ("暖织 纯棉中筒袜 男士 5双装", "暖织", "纯棉中筒袜", ("男士",)),
        ("纯牛奶 250ml×12盒", None, "纯牛奶", ()),
        ("加厚垃圾袋 手提式", None, "加厚垃圾袋", ("手提式",)),
        ("新款纯棉t恤", None, "纯棉t恤", ()),
        ("矿泉水", None, "矿泉水", ()),
    ],
)
def test_a_title_is_read_as_brand_head_noun_and_selling_points(title, brand, noun, others):
    from shangliao.intent.titles import read_title

    read = read_title(title)

    assert (read.brand, read.noun, read.others) == (brand, noun, others)


def test_a_brand_repeated_across_titles_is_set_aside_in_a_title_without_spaces():
    from shangliao.intent.titles import brands_of, read_title

    brands = brands_of(["启明 无线蓝牙耳机 降噪", "启明 智能手环", "洗衣液"])

    assert brands == {"启明"}
    assert read_title("启明快充充电宝", brands).noun == "快充充电宝"


@pytest.mark.parametrize("message", ["两提云朵抽纸", "来两提云朵家的抽纸", "两提云朵的卷纸"])
def test_a_brand_before_its_noun_is_part_of_the_item(catalog, message):
    # given a brand that sells both tissues and toilet rolls
    product = ROLLS if "卷纸" in message else TISSUE

    assert lines(message, catalog) == [(product, variant_id(product), 2)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=40), min_size=1, max_size=5), st.text(max_size=40))
def test_any_titles_build_a_catalog_that_reads_any_message(titles, message):
    variants = [CatalogVariant(i + 1, i + 1, title, {}, (title[:20],)) for i, title in enumerate(titles)]

    intent = recognise(message, Catalog(variants))

    assert all(line.product_id in {None, *range(1, len(titles) + 1)} for line in intent.lines)
