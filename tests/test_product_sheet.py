"""The catalog as a spreadsheet (issue 15): exported a row per SKU, read back by openpyxl; edited
and imported with a preview (create, update, nothing, or why not by row and column), all in one
unit or nothing; stock set through the ledger and never below what orders hold; the same file
twice changes nothing the second time. Both databases."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.support.catalog import make_product
from tests.support.orders import make_order
from tests.support.team import make_member
from tests.test_console import HTMX
from tests.test_sheets import xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def shirt(runtime, shop):
    return make_product(
        runtime, shop, name="纯棉圆领T恤", options=["颜色", "尺码"], stock=20, price=5900,
        variants=[{"spec": {"颜色": "白色", "尺码": s}, "sku": f"TEE-W-{s}"} for s in ("M", "L")],
    )  # fmt: skip


def exported(client) -> list[list]:
    r = client.get("/api/v1/products/export")
    assert r.status_code == 200, r.text
    assert "attachment" in r.headers["content-disposition"]
    return [[c.value for c in row] for row in load_workbook(io.BytesIO(r.content)).worksheets[0].iter_rows()]


def upload(client, tmp_path: Path, rows: list[list], name="products.xlsx") -> dict:
    path = xlsx(tmp_path / name, rows)
    r = client.post("/api/v1/product-sheets/preview", files={"file": (name, path.read_bytes(), XLSX)})
    assert r.status_code == 200, r.text
    return r.json()


def variants(shop, product) -> dict[str, dict]:
    found = shop.api.get(f"/api/v1/products/{product.product_id}").json()["variants"]
    return {v["sku"]: v for v in found}


def test_the_export_reads_back_cell_by_cell(shop, shirt):
    make_order(shop, [(shirt.variant_ids[0], 3)])  # holds 3 of TEE-W-M
    rows = exported(shop.api)
    header = [
        "商品名称",
        "规格",
        "SKU",
        "价格",
        "库存",
        "导出时库存（勿改）",
        "已占用",
        "上架",
        "预售",
        "低库存提醒",
    ]
    assert rows[0] == [*header, "重量（克）"]
    assert rows[1] == ["纯棉圆领T恤", "颜色:白色;尺码:M", "TEE-W-M", 59, 20, 20, 3, "是", "否", 0, 0]
    assert [r[2] for r in rows[1:]] == ["TEE-W-M", "TEE-W-L"]
    csv = shop.api.get("/api/v1/products/export?format=csv")
    assert csv.content.startswith("\ufeff商品名称".encode()) and b"59.00" in csv.content


def test_an_edited_export_updates_creates_and_is_idempotent(shop, shirt, tmp_path):
    rows = exported(shop.api)
    rows[1][3], rows[1][4] = 52.5, 35  # TEE-W-M: a new price, a stocktake
    rows.append(
        ["纯棉圆领T恤", "颜色:黑色;尺码:M", "TEE-B-M", 59, 10, None, None, "是", None, None, None]
    )  # a new variant
    rows.append(
        ["帆布托特包", "颜色:米白", "BAG-1", "89", 5, None, None, None, "否", 3, 400]
    )  # a new product
    rows.append(["帆布托特包", "颜色:藏青", "BAG-2", 89, 0, None, None, "否", None, None, None])

    found = upload(shop.api, tmp_path, rows)
    assert (found["create"], found["update"], found["same"], found["error"]) == (3, 1, 1, 0)
    assert found["rows"][0]["changes"] == ["price", "on_hand"]
    assert variants(shop, shirt)["TEE-W-M"]["price"] == 5900  # a preview writes nothing

    done = shop.api.post(f"/api/v1/product-sheets/{found['upload']}")
    assert done.status_code == 200 and done.json() == {"create": 3, "update": 1, "same": 1, "error": 0}
    now = variants(shop, shirt)
    assert (now["TEE-W-M"]["price"], now["TEE-W-M"]["on_hand"]) == (5250, 35)
    assert now["TEE-B-M"]["spec"] == {"颜色": "黑色", "尺码": "M"}
    bag = next(p for p in shop.api.get("/api/v1/products").json()["items"] if p["name"] == "帆布托特包")
    assert (bag["options"], bag["low_stock_threshold"]) == (["颜色"], 3)
    assert [(v["sku"], v["on_hand"], v["active"], v["weight_g"]) for v in bag["variants"]] == [
        ("BAG-1", 5, True, 400), ("BAG-2", 0, False, 0),
    ]  # fmt: skip
    moves = shop.api.get(f"/api/v1/variants/{shirt.variant_ids[0]}/movements").json()["items"]
    assert moves[0]["on_hand_delta"] == 15 and moves[0]["reason"] == "商品表格导入"

    again = upload(shop.api, tmp_path, rows)  # the same file a second time: nothing to change
    assert (again["create"], again["update"], again["same"]) == (0, 0, 5)
    assert shop.api.post(f"/api/v1/product-sheets/{again['upload']}").json()["same"] == 5


def test_every_problem_is_named_and_nothing_changes(shop, other_shop, runtime, shirt, tmp_path):
    make_order(shop, [(shirt.variant_ids[1], 4)])  # 4 of TEE-W-L held
    theirs = make_product(runtime, other_shop, name="别家的", stock=5, price=100)
    header = ["商品名称", "规格", "SKU", "售价", "库存"]
    found = upload(shop.api, tmp_path, [
        header,
        ["纯棉圆领T恤", None, "TEE-W-M", 49, 20],  # fine
        [None, None, None, 10, 1],  # no SKU
        ["纯棉圆领T恤", None, "TEE-W-L", "十元", 2],  # a price that is no price; stock under the held 4
        ["纯棉圆领T恤", "尺码:M", "TEE-X", 10, 1],  # a new variant naming one option of two
        ["新品", "红色", "NEW-1", 10, 1],  # a spec without option names
        [None, None, "NEW-2", 10, 1],  # a new SKU with no product name
        ["纯棉圆领T恤", None, "TEE-W-M", 49, 20],  # the same SKU twice
        ["别家的", None, theirs.skus[0], 1, 1],  # another shop's SKU is just a new one here…
    ])  # fmt: skip
    problems = {(r["row"], p["column"], p["code"]) for r in found["rows"] for p in r["problems"]}
    assert problems == {
        (3, "C", "sheet.product.no_sku"),
        (4, "D", "sheet.product.bad_cell"),
        (5, "B", "product.spec_mismatch"),
        (6, "B", "sheet.product.bad_cell"),
        (7, "A", "sheet.product.no_name"),
        (8, "C", "sheet.product.repeated"),
    }
    assert found["rows"][-1]["outcome"] == "create"  # …made as this shop's own product
    r = shop.api.post(f"/api/v1/product-sheets/{found['upload']}")
    assert r.status_code == 422 and r.json()["error"]["code"] == "sheet.product.problems"
    assert variants(shop, shirt)["TEE-W-M"]["price"] == 5900
    assert variants(other_shop, theirs)[theirs.skus[0]]["price"] == 100

    under = upload(shop.api, tmp_path, [header, ["纯棉圆领T恤", None, "TEE-W-L", 59, 3]], name="u.xlsx")
    assert under["rows"][0]["problems"][0]["code"] == "stock.insufficient"  # never below what orders hold


def test_stock_needs_its_permission_and_importing_needs_catalog_write(runtime, shop, shirt, tmp_path):
    editor = make_member(runtime, shop, permissions=["catalog.read", "catalog.write"])
    header = ["SKU", "售价", "库存"]
    found = upload(editor, tmp_path, [header, ["TEE-W-M", 59, 25]])
    assert found["rows"][0]["problems"][0]["code"] == "auth.forbidden"
    assert upload(editor, tmp_path, [header, ["TEE-W-M", 60, 20]])["update"] == 1  # price only: fine
    reader = make_member(runtime, shop, permissions=["catalog.read"])
    assert reader.get("/api/v1/products/export").status_code == 200
    path = xlsx(tmp_path / "r.xlsx", [header, ["TEE-W-M", 1, 1]])
    r = reader.post("/api/v1/product-sheets/preview", files={"file": ("r.xlsx", path.read_bytes(), XLSX)})
    assert r.status_code == 403


def test_the_console_exports_previews_and_imports(console, shop, shirt, tmp_path):
    page = console.get("/products")
    assert 'href="/products/export"' in page.text and 'href="/products/import"' in page.text
    assert console.get("/products/export").status_code == 200
    assert console.get("/products/import").status_code == 200
    path = xlsx(tmp_path / "c.xlsx", [["SKU", "售价"], ["TEE-W-L", 66]])
    r = console.post(
        "/products/import/preview", files={"file": ("c.xlsx", path.read_bytes(), XLSX)}, headers=HTMX
    )
    assert r.status_code == 200 and "TEE-W-L" in r.text
    token = r.text.split('data-upload="')[1].split('"')[0]
    done = console.post(f"/products/import/{token}", headers=HTMX)
    assert done.status_code == 200 and "已更新 1 个" in done.text
    assert variants(shop, shirt)["TEE-W-L"]["price"] == 6600


def test_an_old_export_leaves_the_stock_that_moved_since(shop, shirt, tmp_path):
    rows = exported(shop.api)  # 20 of each on hand when exported
    make_order(shop, [(shirt.variant_ids[0], 5)])
    sold = variants(shop, shirt)["TEE-W-M"]
    rows[1][3] = 60  # only the price edited
    found = upload(shop.api, tmp_path, rows)
    assert found["rows"][0]["changes"] == ["price"]
    shop.api.post(f"/api/v1/product-sheets/{found['upload']}")
    assert variants(shop, shirt)["TEE-W-M"]["on_hand"] == sold["on_hand"]


def test_an_exported_csv_comes_back_unchanged_even_with_formula_like_skus(shop, runtime, tmp_path):
    make_product(runtime, shop, name="=危险的名字", stock=3, price=100, variants=[{"sku": "-001"}])
    product = make_product(runtime, shop, name="下架的", stock=3, price=100, active=False)
    csv = shop.api.get("/api/v1/products/export?format=csv").content
    assert b"'-001" in csv and b"'=" in csv  # written as text, never a formula
    r = shop.api.post("/api/v1/product-sheets/preview", files={"file": ("p.csv", csv, "text/csv")})
    found = r.json()
    assert (found["create"], found["update"], found["error"]) == (0, 0, 0), found["rows"]
    assert variants(shop, product)[product.skus[0]]["active"] is True  # the product is off sale, not its SKU


def test_what_the_import_would_refuse_is_named_in_the_preview(shop, shirt, runtime, tmp_path):
    make_product(runtime, shop, name="单品", stock=1, price=100)
    found = upload(shop.api, tmp_path, [
        ["商品名称", "规格", "SKU", "价格", "重量"],
        ["单品", "颜色:红", "ONE-2", 1, None],  # a product without options has one variant
        ["纯棉圆领T恤", "颜色:白色;尺码:M", "TEE-W-M2", 1, None],  # TEE-W-M has that spec
        ["纯棉圆领T恤", "颜色:灰色;尺码:M", "TEE G M", 1, None],  # a SKU with a space
        ["纯棉圆领T恤", "颜色:灰色;尺码:L", "TEE-G-L", 2000000, 2000000],  # over the catalog's limits
        ["新包", "颜色:红", "NB-1", 1, None],
        ["新包", "颜色:红", "NB-2", 1, None],  # the same spec twice in one new product
    ])  # fmt: skip
    problems = {(r["row"], p["column"], p["code"]) for r in found["rows"] for p in r["problems"]}
    assert problems == {
        (2, "B", "product.single_variant"),
        (3, "B", "sheet.product.duplicate_spec"),
        (4, "C", "sheet.product.bad_cell"),
        (5, "D", "sheet.product.bad_cell"),
        (5, "E", "sheet.product.bad_cell"),
        (7, "B", "sheet.product.duplicate_spec"),
    }
    assert all("Input should" not in p["message"] for r in found["rows"] for p in r["problems"])
