"""The console's products section over HTTP (HTMX and plain forms), on both databases.

List with search and chips, create and edit with variants, stock adjustments with a reason and the
ledger, the share link; every refusal shown and nothing half-written; another shop's ids are 404.
"""

from __future__ import annotations

import re

from tests.support.catalog import make_product
from tests.support.orders import make_order
from tests.test_console import HTMX, _untranslated, sign_in


def product(shop, product_id: int) -> dict:
    r = shop.api.get(f"/api/v1/products/{product_id}")
    assert r.status_code == 200, r.text
    return r.json()


def product_count(shop) -> int:
    return len(shop.api.get("/api/v1/products", params={"limit": 100}).json()["items"])


def created(response) -> int:
    """The id of the product a successful HTMX form created (HTMX is sent to its page)."""
    assert response.status_code == 204, response.text
    return int(response.headers["HX-Redirect"].rsplit("/", 1)[1])


def shirt_form(**overrides) -> dict:
    """A T-shirt in two colours: the form as the browser sends it (three option columns, lists)."""
    form = {
        "name": "纯棉T恤",
        "description": "100% 棉",
        "price": "59",
        "active": "1",
        "low_stock_threshold": "5",
        "option": ["颜色", "", ""],
        "sku": ["TEE-RED", "TEE-BLUE", ""],
        "spec1": ["红色", "蓝色", ""],
        "spec2": ["", "", ""],
        "spec3": ["", "", ""],
        "variant_price": ["", "79.5", ""],
        "on_hand": ["10", "3", ""],
    }
    form.update(overrides)
    return form


def listed_names(html: str) -> list[str]:
    return re.findall(r'class="product-name">([^<]+)<', html)


def stamp_of(html: str) -> str:
    return re.search(r'name="stamp" value="(\w+)"', html).group(1)


def ledger_rows(html: str) -> list[str]:
    return re.findall(r'<tr class="movement kind-(\w+)"', html)


# --- creating -------------------------------------------------------------------------------------


def test_pages_need_a_sign_in(anon):
    for path in ("/products", "/products/new", "/products/1"):
        r = anon.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}"


def test_a_product_with_two_variants_is_created_with_its_initial_stock(console, shop):
    r = console.post("/products/new", data=shirt_form(), headers=HTMX)
    made = product(shop, created(r))
    assert made["name"] == "纯棉T恤" and made["options"] == ["颜色"] and made["low_stock_threshold"] == 5
    assert made["active"] is True and made["presale"] is False
    assert [(v["sku"], v["spec"], v["price"], v["on_hand"]) for v in made["variants"]] == [
        ("TEE-RED", {"颜色": "红色"}, 5900, 10),  # a blank price takes the product's price
        ("TEE-BLUE", {"颜色": "蓝色"}, 7950, 3),
    ]
    page = console.get(f"/products/{made['id']}").text
    assert ledger_rows(page) == ["adjust", "adjust"] and page.count("初始库存") >= 2


def test_a_plain_form_post_is_redirected_to_the_new_product(console, shop):
    r = console.post("/products/new", data=shirt_form())
    assert r.status_code == 303 and re.fullmatch(r"/products/\d+", r.headers["location"])


def test_two_options_and_a_made_up_sku(console, shop):
    form = shirt_form(
        option=["颜色", "尺码", ""],
        sku=["", "TEE-RED-L"],
        spec1=["红色", "红色"],
        spec2=["M", "L"],
        spec3=["", ""],
        variant_price=["", ""],
        on_hand=["1", "2"],
    )
    made = product(shop, created(console.post("/products/new", data=form, headers=HTMX)))
    assert made["options"] == ["颜色", "尺码"]
    assert [v["spec"] for v in made["variants"]] == [
        {"颜色": "红色", "尺码": "M"},
        {"颜色": "红色", "尺码": "L"},
    ]
    assert re.fullmatch(r"SL[0-9A-F]{6}-1", made["variants"][0]["sku"])


def test_a_single_item_needs_only_its_price(console, shop):
    form = shirt_form(option=["", "", ""], sku=[""], spec1=[""], spec2=[""], spec3=[""], variant_price=[""],
                      on_hand=[""], presale="1")  # fmt: skip
    made = product(shop, created(console.post("/products/new", data=form, headers=HTMX)))
    assert made["options"] == [] and made["presale"] is True
    assert [(v["spec"], v["price"], v["on_hand"]) for v in made["variants"]] == [({}, 5900, 0)]


def test_a_description_of_5000_chinese_characters_fits(console, shop):
    longest = "棉" * 5000  # 45,000 bytes once URL-encoded
    made = product(
        shop, created(console.post("/products/new", data=shirt_form(description=longest), headers=HTMX))
    )
    assert made["description"] == longest
    r = console.post("/products/new", data=shirt_form(description=longest + "棉"), headers=HTMX)
    assert r.status_code == 422 and "描述" in r.text


def test_refused_products_are_explained_and_nothing_is_written(console, shop, runtime):
    make_product(runtime, shop, variants=[{"sku": "TAKEN-1"}])
    before = product_count(shop)
    cases = [
        (shirt_form(name=""), 422, "名称"),
        (shirt_form(sku=["SAME", "SAME", ""]), 422, "SAME"),
        (shirt_form(sku=["TEE-A", "TAKEN-1", ""]), 409, "TAKEN-1"),
        (shirt_form(spec1=["红色", "", ""]), 422, "第 2 行：请填写颜色"),
        (shirt_form(spec1=["红色", "红色", ""]), 422, "红色"),
        (shirt_form(price="", variant_price=["", "79", ""]), 422, "第 1 行：请填写价格"),
        (shirt_form(variant_price=["十块", "", ""]), 422, "金额以元为单位"),
        (shirt_form(on_hand=["很多", "1", ""]), 422, "第 1 行的库存"),
        (shirt_form(low_stock_threshold="-1"), 422, "库存预警值"),
        (shirt_form(sku=["has space", "B", ""]), 422, "第 1 行的SKU"),
        (shirt_form(option=["", "", ""]), 422, "只能有一个 SKU"),
        (shirt_form(sku=[""], spec1=[""], variant_price=[""], on_hand=[""]), 422, "请至少填写一行 SKU"),
    ]
    for data, status, message in cases:
        r = console.post("/products/new", data=data, headers=HTMX)
        assert r.status_code == status and message in r.text, (data, r.status_code, r.text)
        assert r.headers["HX-Retarget"] == "#toast" and "Traceback" not in r.text
    assert product_count(shop) == before
    plain = console.post("/products/new", data=shirt_form(name=""))
    assert plain.status_code == 422 and "<html" in plain.text and "名称" in plain.text


# --- the list -------------------------------------------------------------------------------------


def test_the_list_shows_prices_variants_stock_and_badges(console, shop, other_shop, runtime):
    two = [
        {"spec": {"颜色": "红"}, "price": 5900, "on_hand": 8},
        {"spec": {"颜色": "蓝"}, "price": 7900, "on_hand": 2},
    ]
    make_product(runtime, shop, name="双色T恤", options=["颜色"], variants=two, threshold=3)
    make_product(runtime, shop, name="预售卫衣", presale=True, stock=0)
    make_product(runtime, shop, name="旧款帽子", active=False)
    make_product(runtime, other_shop, name="别家商品")
    page = console.get("/products").text
    assert sorted(listed_names(page)) == sorted(["双色T恤", "预售卫衣", "旧款帽子"])
    rows = {name: row for name, row in re.findall(r'class="product-name">([^<]+)<(.*?)</tr>', page, re.S)}
    assert "¥59.00 – ¥79.00" in rows["双色T恤"] and "库存紧张" in rows["双色T恤"]
    assert re.search(r"可用</span> 10<", rows["双色T恤"]) and re.search(r"SKU</span> 2<", rows["双色T恤"])
    assert "预售" in rows["预售卫衣"] and "库存紧张" not in rows["预售卫衣"]
    assert "已下架" in rows["旧款帽子"] and "已下架" not in rows["双色T恤"]


def test_search_by_name_or_sku_and_the_filter_chips(console, shop, runtime):
    make_product(runtime, shop, name="纯棉T恤", variants=[{"sku": "TEE-001", "on_hand": 2}], threshold=5)
    make_product(runtime, shop, name="羊毛围巾", variants=[{"sku": "SCARF-9"}], presale=True)
    make_product(runtime, shop, name="旧款帽子", active=False)

    def names(**params) -> set[str]:
        return set(listed_names(console.get("/products", params=params, headers=HTMX).text))

    assert names(q="围巾") == {"羊毛围巾"}
    assert names(q="tee-0") == {"纯棉T恤"}
    assert names(low="1") == {"纯棉T恤"}
    assert names(presale="1") == {"羊毛围巾"}
    assert names(inactive="1") == {"旧款帽子"}
    assert names(q="没有这个") == set()
    assert "没有符合条件的商品" in console.get("/products", params={"q": "没有这个"}, headers=HTMX).text


def test_more_pages_follow_without_repeats(console, shop, runtime):
    made = {f"商品{i:02d}" for i in range(33)}
    for name in sorted(made):
        make_product(runtime, shop, name=name)
    first = console.get("/products", headers=HTMX).text
    cursor = re.search(r'"cursor": "([^"]+)"', first).group(1)
    rest = console.get("/products", params={"cursor": cursor}, headers=HTMX).text
    shown = listed_names(first) + listed_names(rest)
    assert len(listed_names(first)) == 30 and len(shown) == len(set(shown)) == 33 and set(shown) == made
    assert "加载更多" not in rest
    bad = console.get("/products", params={"cursor": "!!"}, headers=HTMX)
    assert bad.status_code == 422 and bad.headers["HX-Retarget"] == "#toast"


# --- editing --------------------------------------------------------------------------------------


def test_edit_the_product_and_its_variants_in_one_save(console, shop, runtime):
    tee = make_product(
        runtime,
        shop,
        name="T恤",
        options=["颜色"],
        variants=[{"spec": {"颜色": "红"}, "price": 5900}, {"spec": {"颜色": "蓝"}, "price": 6900}],
    )
    page = console.get(f"/products/{tee.product_id}").text
    r = console.post(
        f"/products/{tee.product_id}",
        data={
            "stamp": stamp_of(page),
            "name": "纯棉T恤",
            "description": "新描述",
            "low_stock_threshold": "4",
            "active": "1",
            "presale": "1",
            "variant_id": [str(v) for v in tee.variant_ids],
            "spec1": ["大红", "颜色2"],
            "variant_price": ["¥65.50", "69.00"],
            "variant_active": [str(tee.variant_ids[0])],  # the second one is taken off sale
        },
        headers=HTMX,
    )
    assert r.status_code == 200 and "已保存" in r.text and 'id="product-detail"' in r.text
    after = product(shop, tee.product_id)
    assert (after["name"], after["description"], after["low_stock_threshold"], after["presale"]) == (
        "纯棉T恤",
        "新描述",
        4,
        True,
    )
    assert [(v["spec"], v["price"], v["active"]) for v in after["variants"]] == [
        ({"颜色": "大红"}, 6550, True),
        ({"颜色": "颜色2"}, 6900, False),
    ]


def edit_form(page: str, **overrides) -> dict:
    """The edit form as shown (product fields and variant rows), with some fields changed."""
    form = {
        "stamp": stamp_of(page),
        "name": re.search(r'name="name" value="([^"]*)"', page).group(1),
        "low_stock_threshold": "0",
        "active": "1",
        "variant_id": re.findall(r'name="variant_id" value="(\d+)"', page),
        "variant_price": re.findall(r'name="variant_price" value="([^"]*)"', page),
        "variant_active": re.findall(r'name="variant_active" value="(\d+)" checked', page),
    }
    for n in range(1, 4):
        form[f"spec{n}"] = re.findall(rf'name="spec{n}" value="([^"]*)" required', page)
    form.update(overrides)
    return form


def test_a_save_over_someone_elses_change_is_refused(console, shop, runtime):
    tee = make_product(runtime, shop, name="T恤")
    page = console.get(f"/products/{tee.product_id}").text
    assert shop.api.patch(f"/api/v1/products/{tee.product_id}", json={"name": "别人改的"}).status_code == 200
    r = console.post(f"/products/{tee.product_id}", data=edit_form(page, name="我改的"), headers=HTMX)
    assert r.status_code == 409 and "其他人刚刚修改了这个商品" in r.text
    assert product(shop, tee.product_id)["name"] == "别人改的"


def test_a_stock_change_does_not_make_the_page_stale(console, shop, runtime):
    tee = make_product(runtime, shop, name="T恤")
    page = console.get(f"/products/{tee.product_id}").text
    make_order(shop, [(tee.variant_id, 1)])
    r = console.post(f"/products/{tee.product_id}", data=edit_form(page, name="T恤2"), headers=HTMX)
    assert r.status_code == 200 and product(shop, tee.product_id)["name"] == "T恤2"


def test_one_bad_row_saves_nothing(console, shop, runtime):
    tee = make_product(runtime, shop, name="T恤", options=["颜色"])
    page = console.get(f"/products/{tee.product_id}").text
    for prices, message in ((["60", "abc"], "金额以元为单位"), (["60", ""], "第 2 行：请填写价格"),
                            (["60", "2000000"], "第 2 行的价格")):  # fmt: skip
        r = console.post(
            f"/products/{tee.product_id}",
            data=edit_form(page, name="改名", variant_price=prices),
            headers=HTMX,
        )
        assert r.status_code == 422 and message in r.text, r.text
    blank_spec = edit_form(page, spec1=["红", ""])
    r = console.post(f"/products/{tee.product_id}", data=blank_spec, headers=HTMX)
    assert r.status_code == 422 and "第 2 行：请填写颜色" in r.text
    after = product(shop, tee.product_id)
    assert after["name"] == "T恤" and [v["price"] for v in after["variants"]] == [9900, 9900]


def test_add_a_variant_to_an_existing_product(console, shop, runtime):
    tee = make_product(runtime, shop, name="T恤", options=["颜色", "尺码"])
    r = console.post(
        f"/products/{tee.product_id}/variants",
        data={"spec1": "黑色", "spec2": "XL", "sku": "TEE-BLACK-XL", "price": "88", "on_hand": "6"},
        headers=HTMX,
    )
    assert r.status_code == 200 and "已添加 SKU" in r.text and "TEE-BLACK-XL" in r.text
    added = product(shop, tee.product_id)["variants"][-1]
    assert (added["sku"], added["spec"], added["price"], added["on_hand"]) == (
        "TEE-BLACK-XL",
        {"颜色": "黑色", "尺码": "XL"},
        8800,
        6,
    )
    again = {"spec1": "黑色", "spec2": "XL", "sku": "OTHER", "price": "88"}
    r = console.post(f"/products/{tee.product_id}/variants", data=again, headers=HTMX)
    assert r.status_code == 422 and "黑色 / XL" in r.text
    r = console.post(
        f"/products/{tee.product_id}/variants", data={"spec1": "白色", "price": "1"}, headers=HTMX
    )
    assert r.status_code == 422 and "请填写尺码" in r.text
    plain = make_product(runtime, shop, name="单品")
    r = console.post(f"/products/{plain.product_id}/variants", data={"price": "1"}, headers=HTMX)
    assert r.status_code == 422 and "只能有一个 SKU" in r.text
    assert len(product(shop, tee.product_id)["variants"]) == 3
    assert 'id="variant-add"' not in console.get(f"/products/{plain.product_id}").text


# --- stock ----------------------------------------------------------------------------------------


def test_adjust_stock_with_a_reason_and_read_the_ledger(console, shop, runtime):
    tee = make_product(runtime, shop, name="T恤", options=["颜色"], stock=10)
    red = tee.variant_ids[0]
    r = console.post(
        f"/products/{tee.product_id}/stock",
        data={"variant_id": red, "mode": "add", "quantity": "+20", "reason": "delivery", "note": "第二批"},
        headers=HTMX,
    )
    assert r.status_code == 200 and "库存已调整" in r.text and 'id="product-stock"' in r.text
    assert 'id="product-edit"' not in r.text  # only the stock card is redrawn: edits in progress stay
    assert product(shop, tee.product_id)["variants"][0]["on_hand"] == 30
    order = make_order(shop, [(red, 4)])
    r = console.post(
        f"/products/{tee.product_id}/stock",
        data={"variant_id": red, "mode": "count", "quantity": "27", "reason": "stocktake"},
        headers=HTMX,
    )
    assert r.status_code == 200
    assert product(shop, tee.product_id)["variants"][0]["on_hand"] == 27
    ledger = console.get(
        f"/products/{tee.product_id}/movements", params={"ledger_variant": red}, headers=HTMX
    )
    rows = re.findall(r'<tr class="movement kind-(\w+)".*?</tr>', ledger.text, re.S)
    assert rows == ["adjust", "reserve", "adjust", "adjust"]  # newest first, this variant only
    newest, reserve, delivery, initial = re.findall(r'<tr class="movement.*?</tr>', ledger.text, re.S)
    assert "在库 -3" in newest and "盘点" in newest and "店主" in newest
    assert "预占 +4" in reserve and f'href="/orders/{order["id"]}"' in reserve and order["number"] in reserve
    assert "在库 +20" in delivery and "到货 · 第二批" in delivery
    assert "初始库存" in initial and "系统" not in initial


def test_stock_refusals_change_nothing(console, shop, runtime):
    tee = make_product(runtime, shop, name="T恤", stock=5)
    other = make_product(runtime, shop, name="别的商品")
    make_order(shop, [(tee.variant_id, 4)])
    cases = [
        ({"quantity": "-2", "reason": "damage"}, 409, "库存不足"),  # 4 of 5 are reserved
        ({"quantity": "0", "reason": "damage"}, 422, "数量"),
        ({"quantity": "三", "reason": "damage"}, 422, "减少请加负号"),
        ({"quantity": "1", "reason": "other"}, 422, "请填写调整原因"),
        ({"quantity": "1", "reason": "whatever"}, 422, "请选择调整原因"),
        ({"quantity": "5", "reason": "stocktake", "mode": "count"}, 422, "无需调整"),
        ({"quantity": "1", "reason": "delivery", "variant_id": other.variant_id}, 404, "规格不存在"),
    ]
    for extra, status, message in cases:
        data = {"variant_id": tee.variant_id, "mode": "add", **extra}
        r = console.post(f"/products/{tee.product_id}/stock", data=data, headers=HTMX)
        assert r.status_code == status and message in r.text, (extra, r.status_code, r.text)
    assert product(shop, tee.product_id)["variants"][0]["on_hand"] == 5
    assert product(shop, other.product_id)["variants"][0]["on_hand"] == 10
    page = console.get(f"/products/{tee.product_id}").text
    assert ledger_rows(page) == ["reserve", "adjust"]


def test_falling_to_the_threshold_shows_the_low_stock_badge(console, shop, runtime):
    tee = make_product(runtime, shop, name="T恤", stock=10, threshold=3)
    assert "库存紧张" not in console.get(f"/products/{tee.product_id}").text
    r = console.post(
        f"/products/{tee.product_id}/stock",
        data={"variant_id": tee.variant_id, "quantity": "-7", "reason": "damage"},
        headers=HTMX,
    )
    assert r.status_code == 200 and "badge-low" in r.text
    assert "库存紧张" in console.get(f"/products/{tee.product_id}").text
    assert listed_names(console.get("/products", params={"low": "1"}).text) == ["T恤"]


def test_the_ledger_loads_more(console, shop, runtime):
    tee = make_product(runtime, shop, name="T恤", stock=1)
    for _ in range(24):
        r = console.post(
            f"/products/{tee.product_id}/stock",
            data={"variant_id": tee.variant_id, "quantity": "1", "reason": "delivery"},
        )
        assert r.status_code == 303
    page = console.get(f"/products/{tee.product_id}").text
    cursor = re.search(r'"cursor": "([^"]+)"', page).group(1)
    more = console.get(f"/products/{tee.product_id}/movements", params={"cursor": cursor}, headers=HTMX).text
    first, rest = re.findall(r'data-movement="(\d+)"', page), re.findall(r'data-movement="(\d+)"', more)
    assert len(first) == 20 and len(rest) == 5 and not set(first) & set(rest)
    assert "加载更多" not in more


# --- the share link, other shops, languages -------------------------------------------------------


def test_the_share_link_is_shown_with_a_copy_button(console, shop, runtime):
    tee = make_product(runtime, shop, name="T恤")
    token = product(shop, tee.product_id)["share_token"]
    page = console.get(f"/products/{tee.product_id}").text
    assert f'value="http://testserver/s/{shop.slug}/p/{token}"' in page
    assert 'data-copy="share-url"' in page and "/static/console/products.js" in page


def test_another_shops_products_are_not_found(app, shop, other_shop, runtime):
    tee = make_product(runtime, shop, name="T恤", options=["颜色"])
    theirs = sign_in(app, other_shop)
    mine = make_product(runtime, other_shop, name="他们的")
    pid, vid = tee.product_id, tee.variant_id
    requests = [
        ("GET", f"/products/{pid}", None),
        ("GET", f"/products/{pid}/movements", None),
        ("POST", f"/products/{pid}", {"name": "x", "stamp": "x"}),
        ("POST", f"/products/{pid}/variants", {"spec1": "x", "price": "1"}),
        ("POST", f"/products/{pid}/stock", {"variant_id": vid, "quantity": "1", "reason": "delivery"}),
        # Their own product with our variant in the form: still not found.
        ("POST", f"/products/{mine.product_id}/stock", {"variant_id": vid, "quantity": "1", "reason": "delivery"}),
    ]  # fmt: skip
    for method, path, data in requests:
        r = theirs.request(method, path, data=data, headers=HTMX)
        assert r.status_code == 404, (method, path, r.status_code, r.text)
    after = product(shop, pid)
    assert after["name"] == "T恤" and len(after["variants"]) == 2 and after["variants"][0]["on_hand"] == 10


def test_every_products_page_is_translated(app, shop, runtime):
    tee = make_product(runtime, shop, name="T恤", options=["颜色"], threshold=20, presale=True)
    make_order(shop, [(tee.variant_id, 1)])
    pages = ["/products", "/products?low=1", "/products/new", f"/products/{tee.product_id}"]
    zh = sign_in(app, shop)
    en = sign_in(app, shop, lang="en")
    for path in pages:
        html = zh.get(path).text
        assert _untranslated(html) == set(), path
        assert "Products" not in html and "商品" in html, path
        english = en.get(path).text
        assert "商品" not in english and "Products" in english, path
    ledger = zh.get(f"/products/{tee.product_id}/movements", headers=HTMX).text
    assert _untranslated(ledger) == set() and "预售下单" in ledger
    missing = zh.get("/products/999999999")
    assert (
        missing.status_code == 404 and _untranslated(missing.text) == set() and "商品不存在" in missing.text
    )
