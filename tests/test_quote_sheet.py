"""报价单 / 批量下单 (issue 15): a sheet of products, quantities, prices and recipients, previewed row
by row, then made into one merged order, one order per recipient, or a quote card the customer
accepts on the shop page; all or nothing, and the same file twice makes nothing twice. Both
databases."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.support.catalog import make_product
from tests.support.chat import guest_client, guest_says
from tests.support.customers import make_customer
from tests.support.team import make_member
from tests.test_console import HTMX
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
    return {_spec(v): v["id"] for v in found}


def on_hand(shop, product) -> dict[str, int]:
    found = shop.api.get(f"/api/v1/products/{product.product_id}").json()["variants"]
    return {_spec(v): v["available"] for v in found}


def _spec(variant: dict) -> str:
    return "/".join(variant["spec"][k] for k in ("颜色", "尺码") if k in variant["spec"]) or "-"


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
    assert (
        order["items"][0]["quantity"] == 5 and order["address"]["phone"] == "13900002222"
    )  # their default address


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
    for body in (
        {"customer_id": "x"},
        {"customer_id": customer, "mode": "all"},
        {"customer_id": customer, "extra": 1},
    ):
        assert shop.api.post(url, json=body).status_code == 422
    r = shop.api.post(
        "/api/v1/quote-sheets/preview", files={"file": sheet(tmp_path, [[1, "红"]], header=["数量", "颜色"])}
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "sheet.missing_columns"


def test_a_quote_card_needs_chat_write_and_is_sent_once(shop, runtime, catalog, tmp_path):
    customer, _ = make_customer(runtime, shop, phone="13900008888")
    file = sheet(tmp_path, [["纯棉圆领T恤", "黑色 M", 10, 49], ["农夫山泉", "", 2, None]], header=["商品", "规格", "数量", "单价"])  # fmt: skip
    found = preview(shop.api, file)
    packer = make_member(runtime, shop, permissions=["orders.read", "orders.write"])
    r = packer.post(
        f"/api/v1/quote-sheets/{found['upload']}", json={"customer_id": customer, "mode": "quote"}
    )
    assert r.status_code == 403

    sent = shop.api.post(
        f"/api/v1/quote-sheets/{found['upload']}", json={"customer_id": customer, "mode": "quote"}
    )
    assert sent.status_code == 200, sent.text
    card = sent.json()
    assert (card["already"], card["total"]) == (False, 10 * 4900 + 2 * 3600)
    messages = shop.api.get(f"/api/v1/conversations/{card['conversation_id']}/messages").json()
    quote = [m for m in messages if m["kind"] == "quote_card"]
    assert len(quote) == 1 and [i["unit_price"] for i in quote[0]["data"]["items"]] == [4900, 3600]
    again = preview(shop.api, file)
    repeat = shop.api.post(
        f"/api/v1/quote-sheets/{again['upload']}", json={"customer_id": customer, "mode": "quote"}
    )
    assert repeat.json()["already"] is True and repeat.json()["message_id"] == card["message_id"]
    assert shop.api.get("/api/v1/orders").json()["items"] == []  # a quote is no order (yet)


# --- the customer accepts a quote card on the shop page (storefront/quotes.py) -------------------

ADDRESS = {"receiver": "张三", "phone": "13812345678", "province": "浙江省", "city": "杭州市", "district": "西湖区", "detail": "文三路100号"}  # fmt: skip


def send_quote(shop, conversation_id: int, lines: list[tuple[int, int, int | None]]) -> dict:
    items = [
        {"variant_id": v, "quantity": q, **({"unit_price": p} if p is not None else {})} for v, q, p in lines
    ]
    r = shop.api.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"kind": "quote_card", "body": "老客户价", "items": items},
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_a_customer_accepts_a_quote_once_at_the_quoted_prices(shop, app, runtime, catalog):
    shirt, water = catalog
    guest = guest_client(app, shop, "张三", "13812345678")
    black_m = variant_ids(shop, shirt)["黑色/M"]
    card = send_quote(
        shop, guest.conversation_id, [(black_m, 4, 4500), (variant_ids(shop, water)["-"], 1, None)]
    )

    page = guest.get(f"/s/{shop.slug}/quotes/{card['id']}")
    assert page.status_code == 200 and "纯棉圆领T恤" in page.text and "¥216.00" in page.text  # 4×45 + 36

    url = f"/s/{shop.slug}/api/quotes/{card['id']}/order"
    assert guest.post(url, json={"remark": "x"}).status_code == 422  # no address: nothing made
    placed = guest.post(url, json={"address": ADDRESS, "remark": "谢谢"})
    assert placed.status_code == 201, placed.text
    order = shop.api.get(f"/api/v1/orders/{placed.json()['order']['id']}").json()
    assert (order["status"], order["channel"], order["customer_id"]) == (
        "pending",
        "quote",
        guest.customer_id,
    )
    assert [(i["quantity"], i["unit_price"]) for i in order["items"]] == [(4, 4500), (1, 3600)]
    assert on_hand(shop, shirt)["黑色/M"] == 16

    again = guest.post(url, json={"address": {**ADDRESS, "detail": "别处"}})
    assert again.status_code == 200 and again.json()["order"]["id"] == order["id"]
    assert len(shop.api.get("/api/v1/orders").json()["items"]) == 1
    assert "查看订单" in guest.get(f"/s/{shop.slug}/quotes/{card['id']}").text  # the page shows the order now
    kinds = [
        m["kind"] for m in shop.api.get(f"/api/v1/conversations/{guest.conversation_id}/messages").json()
    ]
    assert kinds.count("order_card") == 1


def test_only_the_customers_own_quote_can_be_accepted(shop, other_shop, app, runtime, catalog):
    _shirt, water = catalog
    mine = guest_client(app, shop, "张三", "13812345678")
    stranger = guest_client(app, shop, "李四", "13987654321")
    card = send_quote(shop, mine.conversation_id, [(variant_ids(shop, water)["-"], 1, 100)])
    said = guest_says(shop, mine, "你好")
    for who, message_id in ((stranger, card["id"]), (mine, said["id"]), (mine, 10**9)):
        r = who.post(f"/s/{shop.slug}/api/quotes/{message_id}/order", json={"address": ADDRESS})
        assert r.status_code == 404 and r.json()["error"]["code"] == "quote.not_found"
        assert who.get(f"/s/{shop.slug}/quotes/{message_id}").status_code == 404
    theirs = guest_client(app, other_shop, "王五", "13700001111")
    r = theirs.post(f"/s/{other_shop.slug}/api/quotes/{card['id']}/order", json={"address": ADDRESS})
    assert r.status_code == 404
    recalled = shop.api.post(f"/api/v1/conversations/{mine.conversation_id}/messages/{card['id']}/recall")
    assert recalled.status_code == 200, recalled.text
    r = mine.post(f"/s/{shop.slug}/api/quotes/{card['id']}/order", json={"address": ADDRESS})
    assert r.status_code == 404
    assert shop.api.get("/api/v1/orders").json()["items"] == []


def test_a_quote_for_more_than_is_left_is_refused_kindly(shop, app, runtime, catalog):
    _shirt, water = catalog
    guest = guest_client(app, shop, "张三", "13812345678")
    card = send_quote(shop, guest.conversation_id, [(variant_ids(shop, water)["-"], 31, None)])  # 30 on hand
    r = guest.post(f"/s/{shop.slug}/api/quotes/{card['id']}/order", json={"address": ADDRESS})
    assert r.status_code == 409 and "农夫山泉" in r.json()["error"]["message"]
    assert shop.api.get("/api/v1/orders").json()["items"] == []


def test_the_console_picks_the_customer_previews_and_imports(console, shop, runtime, catalog, tmp_path):
    customer, _ = make_customer(runtime, shop, name="批发商老王", phone="13900009999")
    assert 'href="/orders/import"' in console.get("/orders").text
    page = console.get(f"/orders/import?customer_id={customer}")
    assert page.status_code == 200 and "批发商老王" in page.text and f'value="{customer}"' in page.text
    found = console.post("/orders/import/customers", data={"cq": "老王"}, headers=HTMX)
    assert f"/orders/import/customers/{customer}" in found.text

    template = load_workbook(io.BytesIO(console.get("/orders/import/template.xlsx").content))
    filled = [[c.value for c in row] for row in template.worksheets[0].iter_rows()]
    assert filled[0][:4] == ["商品名称", "规格", "数量", "单价"]
    path = xlsx(tmp_path / "filled.xlsx", filled)  # the template's own example row, as it comes
    r = console.post(
        "/orders/import/preview", files={"file": ("filled.xlsx", path.read_bytes(), XLSX)}, headers=HTMX
    )
    assert r.status_code == 200 and "纯棉圆领T恤" in r.text and "¥105.00" in r.text  # 2 × 52.50
    token = r.text.split('data-upload="')[1].split('"')[0]

    refused = console.post(f"/orders/import/{token}", data={"mode": "merged"}, headers=HTMX)
    assert refused.status_code == 422 and "先选择客户" in refused.text
    done = console.post(
        f"/orders/import/{token}", data={"customer_id": customer, "mode": "merged"}, headers=HTMX
    )
    assert done.status_code == 200 and "已生成 1 个订单" in done.text
    orders = shop.api.get("/api/v1/orders").json()["items"]
    assert len(orders) == 1 and orders[0]["customer_id"] == customer


def test_a_csv_saved_by_excel_on_chinese_windows_previews_alike(shop, runtime, catalog):
    text = "商品名称,规格,数量,单价\r\n纯棉圆领T恤,黑色 L,2,50\r\n农夫山泉,,1,\r\n"
    found = preview(shop.api, ("报价.csv", text.encode("gb18030"), "text/csv"))
    assert found["errors"] == 0
    assert [(r["quantity"], r["unit_price"]) for r in found["rows"]] == [(2, 5000), (1, 3600)]


def test_the_same_file_for_another_customer_is_refused_with_its_orders(shop, runtime, catalog, tmp_path):
    first, _ = make_customer(runtime, shop, phone="13900001212")
    second, _ = make_customer(runtime, shop, phone="13900001313")
    file = sheet(tmp_path, [["农夫山泉", 1]], header=["商品", "数量"])
    made = shop.api.post(
        f"/api/v1/quote-sheets/{preview(shop.api, file)['upload']}", json={"customer_id": first}
    )
    number = made.json()["orders"][0]["number"]
    r = shop.api.post(
        f"/api/v1/quote-sheets/{preview(shop.api, file)['upload']}", json={"customer_id": second}
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "sheet.quote.imported_for_another"
    assert number in r.json()["error"]["message"]


def test_prices_a_formula_made_or_past_the_limit(shop, runtime, catalog, tmp_path):
    file = sheet(tmp_path, [["农夫山泉", 1, 59.699999999999996], ["农夫山泉", 1, 2000000], ["农夫山泉", 1, "1e30"]], header=["商品", "数量", "单价"])  # fmt: skip
    rows = preview(shop.api, file)["rows"]
    assert rows[0]["unit_price"] == 5970
    assert [p["code"] for r in rows[1:] for p in r["problems"]] == ["sheet.quote.bad_price"] * 2


def test_a_quote_expires_and_a_product_gone_off_sale_is_named(shop, app, runtime, catalog, frozen):
    _shirt, water = catalog
    guest = guest_client(app, shop, "张三", "13812345678")
    water_id = variant_ids(shop, water)["-"]
    old = send_quote(shop, guest.conversation_id, [(water_id, 1, None)])
    frozen(datetime.now(UTC) + timedelta(days=31))
    r = guest.post(f"/s/{shop.slug}/api/quotes/{old['id']}/order", json={"address": ADDRESS})
    assert r.status_code == 409 and r.json()["error"]["code"] == "quote.expired"
    assert "已过期" in guest.get(f"/s/{shop.slug}/quotes/{old['id']}").text

    fresh = send_quote(shop, guest.conversation_id, [(water_id, 1, None)])
    shop.api.patch(f"/api/v1/products/{water.product_id}", json={"active": False})
    r = guest.post(f"/s/{shop.slug}/api/quotes/{fresh['id']}/order", json={"address": ADDRESS})
    assert r.status_code == 409 and r.json()["error"]["code"] == "order.not_on_sale"
    assert "农夫山泉" in r.json()["error"]["message"] and water.skus[0] not in r.text


def test_the_preview_warns_of_lines_past_the_stock(shop, runtime, catalog, tmp_path):
    customer, _ = make_customer(runtime, shop, phone="13900001414")
    file = sheet(tmp_path, [["农夫山泉", 20], ["农夫山泉", 11]], header=["商品", "数量"])  # 30 on hand
    found = preview(shop.api, file)
    assert found["errors"] == 0 and all("30" in r["warnings"][0] for r in found["rows"])
    r = shop.api.post(f"/api/v1/quote-sheets/{found['upload']}", json={"customer_id": customer})
    assert r.status_code == 409 and shop.api.get("/api/v1/orders").json()["items"] == []
    sent = shop.api.post(
        f"/api/v1/quote-sheets/{found['upload']}", json={"customer_id": customer, "mode": "quote"}
    )
    assert sent.status_code == 200  # a quote holds no stock
