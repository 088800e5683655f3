"""报价单 / 批量下单 (issue 15): a sheet of products, quantities, prices and recipients, previewed row
by row, then made into one merged order, one order per recipient, or a quote card the customer
accepts on the shop page; all or nothing, and the same file twice makes nothing twice. Both
databases."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.catalog import make_product
from tests.support.customers import make_customer
from tests.support.team import make_member
from tests.test_sheets import xlsx

HEADER = ["商品名称", "规格", "数量", "单价", "收货人", "手机", "收货地址", "备注"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def sheet(tmp_path: Path, rows: list[list], header=HEADER, name="quote.xlsx") -> tuple[str, bytes, str]:
    path = xlsx(tmp_path / name, [header, *rows])
    return (name, path.read_bytes(), XLSX)


def preview(client, file) -> dict:
    r = client.post("/api/v1/quote-sheets/preview", files={"file": file})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def catalog(runtime, shop):
    shirt = make_product(
        runtime,
        shop,
        name="纯棉圆领T恤",
        options=["颜色", "尺码"],
        variants=[
            {"spec": {"颜色": c, "尺码": s}, "sku": f"TEE-{c}-{s}", "price": 5900}
            for c in ("白色", "黑色")
            for s in ("M", "L")
        ],
        stock=20,
    )
    water = make_product(runtime, shop, name="农夫山泉 550ml 整箱", stock=30, price=3600)
    return shirt, water


def variant_ids(shop, product) -> dict[str, int]:
    found = shop.api.get(f"/api/v1/products/{product.product_id}").json()["variants"]
    return {"/".join(v["spec"].values()) or "-": v["id"] for v in found}


def on_hand(shop, product) -> dict[str, int]:
    found = shop.api.get(f"/api/v1/products/{product.product_id}").json()["variants"]
    return {"/".join(v["spec"].values()) or "-": v["available"] for v in found}


def test_a_quote_sheet_previews_and_becomes_one_order_per_recipient_once(shop, runtime, catalog, tmp_path):
    shirt, water = catalog
    customer, _ = make_customer(runtime, shop, name="批发商老王", phone="13900001111")
    ids = variant_ids(shop, shirt)
    file = sheet(tmp_path, [
        ["纯棉圆领T恤", "白色 M", 2, 52.5, "张三", "13812345678", "浙江省杭州市西湖区文三路100号", "周末送"],
        ["T恤", "颜色:黑色;尺码:L", "3件", None, None, None, None, None],  # the recipient's merged cells
        ["农夫山泉", "", 1, "¥30", "李四", "13987654321", "上海市浦东新区世纪大道1号", ""],
    ])  # fmt: skip

    found = preview(shop.api, file)
    assert found["errors"] == 0 and found["imported"] == []
    rows = [(r["row"], r["variant_id"], r["matched_by"], r["quantity"], r["unit_price"], r["recipient"]) for r in found["rows"]]  # fmt: skip
    water_id = variant_ids(shop, water)["-"]
    assert rows == [
        (2, ids["白色/M"], "name", 2, 5250, 0),  # the whole title
        (3, ids["黑色/L"], "words", 3, 5900, 0),  # no price: the catalog's
        (4, water_id, "words", 1, 3000, 1),
    ]
    assert found["total"] == 2 * 5250 + 3 * 5900 + 3000
    assert [r["receiver"] for r in found["recipients"]] == ["张三", "李四"]
    assert shop.api.get("/api/v1/orders").json()["items"] == []  # a preview writes nothing

    done = shop.api.post(
        f"/api/v1/quote-sheets/{found['upload']}", json={"customer_id": customer, "mode": "per_recipient"}
    )
    assert done.status_code == 200, done.text
    made = done.json()
    assert (made["already"], len(made["orders"])) == (False, 2)
    first = shop.api.get(f"/api/v1/orders/{made['orders'][0]['id']}").json()
    assert (first["status"], first["channel"], first["customer_id"]) == ("pending", "quote", customer)
    assert first["address"]["receiver"] == "张三" and first["address"]["district"] == "西湖区"
    assert [(i["quantity"], i["unit_price"]) for i in first["items"]] == [(2, 5250), (3, 5900)]
    assert first["remark"] == "周末送"
    assert on_hand(shop, shirt)["白色/M"] == 18  # stock held, as for any pending order

    again = preview(shop.api, file)  # the same file uploaded a second time
    assert [o["id"] for o in again["imported"]] == [o["id"] for o in made["orders"]]
    repeat = shop.api.post(
        f"/api/v1/quote-sheets/{again['upload']}", json={"customer_id": customer, "mode": "merged"}
    )
    assert repeat.json()["already"] is True and repeat.json()["orders"] == made["orders"]
    assert len(shop.api.get("/api/v1/orders").json()["items"]) == 2


def test_merged_mode_makes_one_order_to_the_customers_default_address(shop, runtime, catalog, tmp_path):
    customer, _ = make_customer(runtime, shop, name="老客户", phone="13900002222")
    file = sheet(tmp_path, [["TEE-白色-L", 5]], header=["SKU", "数量"])
    found = preview(shop.api, file)
    assert found["rows"][0]["matched_by"] == "sku" and found["recipients"] == []
    made = shop.api.post(f"/api/v1/quote-sheets/{found['upload']}", json={"customer_id": customer}).json()
    order = shop.api.get(f"/api/v1/orders/{made['orders'][0]['id']}").json()
    assert order["items"][0]["quantity"] == 5 and order["address"]["phone"] == "13900002222"  # their default address


def test_every_problem_is_named_by_row_and_column_and_nothing_is_made(shop, runtime, catalog, tmp_path):
    customer, _ = make_customer(runtime, shop, phone="13900003333")
    file = sheet(tmp_path, [
        ["纯棉圆领T恤", "白色 M", 1, 59, "张三", "13812345678", "浙江省杭州市西湖区文三路100号", ""],
        ["纯棉圆领T恤", "", 1, None, None, None, None, None],  # which colour and size?
        ["纯棉圆领T恤", "红色 XL", 1, None, None, None, None, None],  # no such option
        ["蓝牙音箱", "", 1, None, None, None, None, None],  # not sold here
        ["农夫山泉", "", "两箱", "12.345", None, None, None, None],
        ["农夫山泉", "", 1, None, "王五", "12345", "火星", ""],
    ])  # fmt: skip
    found = preview(shop.api, file)
    problems = {(r["row"], p["column"], p["code"]) for r in found["rows"] for p in r["problems"]}
    assert problems == {
        (3, "B", "sheet.quote.which_option"),
        (4, "B", "sheet.quote.no_such_option"),
        (5, "A", "sheet.quote.no_product"),
        (6, "C", "sheet.quote.bad_quantity"),
        (6, "D", "sheet.quote.bad_price"),
        (7, "F", "sheet.quote.bad_recipient"),
        (7, "G", "sheet.quote.bad_recipient"),
    }
    assert found["errors"] == 5
    r = shop.api.post(f"/api/v1/quote-sheets/{found['upload']}", json={"customer_id": customer})
    assert r.status_code == 422 and r.json()["error"]["code"] == "sheet.quote.problems"
    assert {row["row"] for row in r.json()["error"]["details"]["rows"]} == {3, 4, 5, 6, 7}
    assert shop.api.get("/api/v1/orders").json()["items"] == []


def test_modes_refuse_what_they_cannot_make(shop, runtime, catalog, tmp_path):
    customer, _ = make_customer(runtime, shop, phone="13900004444")
    two = sheet(tmp_path, [
        ["农夫山泉", "", 1, None, "张三", "13812345678", "浙江省杭州市西湖区文三路100号", ""],
        ["农夫山泉", "", 1, None, "李四", "13987654321", "上海市浦东新区世纪大道1号", ""],
    ], name="two.xlsx")  # fmt: skip
    found = preview(shop.api, two)
    merged = shop.api.post(f"/api/v1/quote-sheets/{found['upload']}", json={"customer_id": customer})
    assert merged.status_code == 422 and merged.json()["error"]["code"] == "sheet.quote.many_recipients"

    nobody = preview(shop.api, sheet(tmp_path, [["农夫山泉", 2]], header=["商品", "数量"], name="n.xlsx"))
    r = shop.api.post(
        f"/api/v1/quote-sheets/{nobody['upload']}", json={"customer_id": customer, "mode": "per_recipient"}
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "sheet.quote.no_recipient"


def test_another_shops_customer_or_token_is_not_found(shop, other_shop, runtime, catalog, tmp_path):
    theirs, _ = make_customer(runtime, other_shop, phone="13900005555")
    found = preview(shop.api, sheet(tmp_path, [["农夫山泉", 1]], header=["商品", "数量"]))
    r = shop.api.post(f"/api/v1/quote-sheets/{found['upload']}", json={"customer_id": theirs})
    assert r.status_code == 404
    mine, _ = make_customer(runtime, shop, phone="13900006666")
    r = other_shop.api.post(f"/api/v1/quote-sheets/{found['upload']}", json={"customer_id": mine})
    assert r.status_code == 404 and r.json()["error"]["code"] == "sheet.upload_gone"
    assert shop.api.get("/api/v1/orders").json()["items"] == []


def test_bad_bodies_are_refused(shop, runtime, catalog, tmp_path):
    customer, _ = make_customer(runtime, shop, phone="13900007777")
    found = preview(shop.api, sheet(tmp_path, [["农夫山泉", 1]], header=["商品", "数量"]))
    url = f"/api/v1/quote-sheets/{found['upload']}"
    for body in ({"customer_id": "x"}, {"customer_id": customer, "mode": "all"}, {"customer_id": customer, "extra": 1}):
        assert shop.api.post(url, json=body).status_code == 422
    r = shop.api.post("/api/v1/quote-sheets/preview", files={"file": sheet(tmp_path, [[1, "红"]], header=["数量", "颜色"])})
    assert r.status_code == 422 and r.json()["error"]["code"] == "sheet.missing_columns"


def test_a_quote_card_needs_chat_write_and_is_sent_once(shop, runtime, catalog, tmp_path):
    customer, _ = make_customer(runtime, shop, phone="13900008888")
    file = sheet(tmp_path, [["纯棉圆领T恤", "黑色 M", 10, 49], ["农夫山泉", "", 2, None]], header=["商品", "规格", "数量", "单价"])  # fmt: skip
    found = preview(shop.api, file)
    packer = make_member(runtime, shop, permissions=["orders.read", "orders.write"])
    r = packer.post(f"/api/v1/quote-sheets/{found['upload']}", json={"customer_id": customer, "mode": "quote"})
    assert r.status_code == 403

    sent = shop.api.post(f"/api/v1/quote-sheets/{found['upload']}", json={"customer_id": customer, "mode": "quote"})
    assert sent.status_code == 200, sent.text
    card = sent.json()
    assert (card["already"], card["total"]) == (False, 10 * 4900 + 2 * 3600)
    messages = shop.api.get(f"/api/v1/conversations/{card['conversation_id']}/messages").json()
    quote = [m for m in messages if m["kind"] == "quote_card"]
    assert len(quote) == 1 and [i["unit_price"] for i in quote[0]["data"]["items"]] == [4900, 3600]
    again = preview(shop.api, file)
    repeat = shop.api.post(f"/api/v1/quote-sheets/{again['upload']}", json={"customer_id": customer, "mode": "quote"})
    assert repeat.json()["already"] is True and repeat.json()["message_id"] == card["message_id"]
    assert shop.api.get("/api/v1/orders").json()["items"] == []  # a quote is no order (yet)
