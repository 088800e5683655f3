"""Merchant aliases of a product: other names customers use ("纸巾" for 抽纸), set over the API and
in the console, found by the product search and by the chat order recogniser."""

from __future__ import annotations

import re

import pytest

from tests.support.catalog import make_product
from tests.support.chat import customer_says
from tests.test_catalog import tee
from tests.test_chat_orders import conversation, customer, suggested  # noqa: F401 (fixtures)
from tests.test_console import HTMX
from tests.test_console_products import created, edit_form, listed_names, shirt_form
from tests.test_shop_orders import client, introduce  # noqa: F401 (fixture)

API = "/api/v1"


def aliases_of(shop, product_id: int) -> list[str]:
    r = shop.api.get(f"{API}/products/{product_id}")
    assert r.status_code == 200, r.text
    return r.json()["aliases"]


def searched(shop, q: str) -> set[str]:
    r = shop.api.get(f"{API}/products", params={"q": q})
    assert r.status_code == 200, r.text
    return {p["name"] for p in r.json()["items"]}


# --- the API --------------------------------------------------------------------------------------


def test_aliases_are_created_trimmed_and_without_duplicates(shop):
    # when a product is created with aliases typed carelessly
    r = shop.api.post(f"{API}/products", json=tee(aliases=[" 短袖 ", "T恤", "短袖", "t恤", "圆领衫"]))

    # then they are stored trimmed, each once (the first spelling kept), in the merchant's order
    assert r.status_code == 201, r.text
    assert r.json()["aliases"] == ["短袖", "T恤", "圆领衫"]
    assert aliases_of(shop, r.json()["id"]) == ["短袖", "T恤", "圆领衫"]


def test_a_patch_replaces_the_aliases_and_an_empty_list_clears_them(shop, runtime):
    cup = make_product(runtime, shop, name="保温杯")
    assert aliases_of(shop, cup.product_id) == []

    r = shop.api.patch(f"{API}/products/{cup.product_id}", json={"aliases": ["水杯", "杯子"]})
    assert r.status_code == 200 and r.json()["aliases"] == ["水杯", "杯子"]

    r = shop.api.patch(f"{API}/products/{cup.product_id}", json={"aliases": []})
    assert r.status_code == 200 and aliases_of(shop, cup.product_id) == []


@pytest.mark.parametrize(
    "aliases",
    [
        [""],
        ["   "],
        ["长" * 21],
        [f"别名{i}" for i in range(21)],
        ["两行\n别名"],
        "纸巾",
        [None],
        None,
    ],
    ids=["empty", "blank", "too-long", "too-many", "newline", "not-a-list", "null-entry", "null"],
)
def test_bad_aliases_are_refused_and_change_nothing(shop, runtime, aliases):
    cup = make_product(runtime, shop, name="保温杯")
    shop.api.patch(f"{API}/products/{cup.product_id}", json={"aliases": ["水杯"]})

    r = shop.api.patch(f"{API}/products/{cup.product_id}", json={"aliases": aliases})
    created = shop.api.post(f"{API}/products", json=tee(sku_prefix="BAD", aliases=aliases))

    assert r.status_code == 422 and r.json()["error"]["code"] == "request.invalid"
    assert created.status_code == 422 and created.json()["error"]["code"] == "request.invalid"
    assert aliases_of(shop, cup.product_id) == ["水杯"]
    assert "纯棉T恤" not in searched(shop, "纯棉")


def test_twenty_aliases_of_twenty_characters_fit(shop, runtime):
    cup = make_product(runtime, shop, name="保温杯")
    wanted = [f"{i:02d}" + "杯" * 18 for i in range(20)]

    r = shop.api.patch(f"{API}/products/{cup.product_id}", json={"aliases": wanted})

    assert r.status_code == 200 and aliases_of(shop, cup.product_id) == wanted


# --- the search -----------------------------------------------------------------------------------


def test_the_product_search_finds_a_product_by_its_alias(shop, other_shop, runtime):
    # given tissues known to customers as 纸巾, and another shop's product with the same alias
    tissue = make_product(runtime, shop, name="某某 抽纸 3层120抽×24包")
    make_product(runtime, shop, name="某某 洗发水 750ml")
    shop.api.patch(f"{API}/products/{tissue.product_id}", json={"aliases": ["纸巾", "面巾纸"]})
    theirs = make_product(runtime, other_shop, name="别家抽纸")
    other_shop.api.patch(f"{API}/products/{theirs.product_id}", json={"aliases": ["纸巾"]})

    # then a search for the alias (or a part of one) finds it, and only in the shop's own catalog
    assert searched(shop, "纸巾") == {"某某 抽纸 3层120抽×24包"}
    assert searched(shop, "面巾") == {"某某 抽纸 3层120抽×24包"}
    assert searched(shop, "洗发") == {"某某 洗发水 750ml"}


def test_a_customer_finds_a_product_by_its_alias_on_the_shop_page(runtime, client, shop):  # noqa: F811
    tissue = make_product(runtime, shop, name="云朵 抽纸 3层120抽×24包")
    make_product(runtime, shop, name="青山 洗发水 750ml")
    shop.api.patch(f"{API}/products/{tissue.product_id}", json={"aliases": ["纸巾"]})
    introduce(client, shop)

    found = client.get(f"/s/{shop.slug}/api/products", params={"q": "纸巾"}).json()

    assert [p["name"] for p in found["items"]] == ["云朵 抽纸 3层120抽×24包"]


# --- the console ----------------------------------------------------------------------------------


def test_the_console_edits_aliases_in_one_field(console, shop, runtime):
    # given a product page
    tissue = make_product(runtime, shop, name="某某 抽纸 3层120抽×24包")
    page = console.get(f"/products/{tissue.product_id}").text
    assert "别名" in page

    # when the merchant types other names separated by commas of either width, 、 and spaces
    r = console.post(
        f"/products/{tissue.product_id}",
        data=edit_form(page, aliases="纸巾，面巾纸、卫生纸, 纸巾  餐巾纸"),
        headers=HTMX,
    )

    # then they are saved once each, shown back in the field, and the console search finds them
    assert r.status_code == 200, r.text
    assert aliases_of(shop, tissue.product_id) == ["纸巾", "面巾纸", "卫生纸", "餐巾纸"]
    assert re.search(r'name="aliases" value="纸巾、面巾纸、卫生纸、餐巾纸"', r.text)
    listed = console.get("/products", params={"q": "餐巾纸"}, headers=HTMX).text
    assert listed_names(listed) == ["某某 抽纸 3层120抽×24包"]


def test_the_console_refuses_a_too_long_alias_and_saves_nothing(console, shop, runtime):
    tissue = make_product(runtime, shop, name="抽纸")
    page = console.get(f"/products/{tissue.product_id}").text

    r = console.post(
        f"/products/{tissue.product_id}",
        data=edit_form(page, name="新名字", aliases="纸巾 " + "长" * 21),
        headers=HTMX,
    )

    assert r.status_code == 422 and "别名" in r.text, r.text
    after = shop.api.get(f"{API}/products/{tissue.product_id}").json()
    assert (after["name"], after["aliases"]) == ("抽纸", [])


def test_a_new_product_may_carry_aliases(console, shop):
    r = console.post("/products/new", data=shirt_form(aliases="短袖、体恤衫"), headers=HTMX)

    assert aliases_of(shop, created(r)) == ["短袖", "体恤衫"]


# --- the recogniser -------------------------------------------------------------------------------


def test_a_chat_order_names_a_product_by_its_merchant_alias(runtime, shop, conversation):  # noqa: F811
    # given a shop selling a cup, and a customer asking for it by a name its title does not hold
    cup = make_product(runtime, shop, name="乐扣保温杯", price=3900)
    message = customer_says(runtime, shop, conversation, "给我来两个水壶")
    before = suggested(shop, conversation, message.id)  # the shop's catalog is now cached
    assert before["items"] == []

    # when the merchant gives the product that alias
    r = shop.api.patch(f"{API}/products/{cup.product_id}", json={"aliases": ["水壶"]})
    assert r.status_code == 200, r.text

    # then the next suggestion for the same message names the cup
    items = suggested(shop, conversation, message.id)["items"]
    assert [(i["product_id"], i["variant_id"], i["quantity"]) for i in items] == [
        (cup.product_id, cup.variant_id, 2)
    ]
