"""批量发货 (issue 15): a sheet of order numbers, couriers and waybill numbers, previewed row by row,
then shipped all together or not at all; the same sheet twice ships nothing twice. Both databases."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import load_workbook

from shangliao.sheets import uploads
from tests.support.orders import act, make_order
from tests.support.team import make_member
from tests.test_console import HTMX
from tests.test_sheets import xlsx

HEADER = ["订单编号", "快递公司", "物流单号"]


def sheet(tmp_path: Path, rows: list[list], name: str = "ship.xlsx") -> tuple[str, bytes, str]:
    path = xlsx(tmp_path / name, [HEADER, *rows])
    return (name, path.read_bytes(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def preview(client, file) -> dict:
    r = client.post("/api/v1/shipping-sheets/preview", files={"file": file})
    assert r.status_code == 200, r.text
    return r.json()


def confirmed(shop, tee) -> dict:
    return act(shop, make_order(shop, [(tee.variant_id, 1)]), "confirm")


def test_a_sheet_ships_its_orders_once(shop, tee, tmp_path):
    a, b, c = (confirmed(shop, tee) for _ in range(3))
    file = sheet(tmp_path, [
        [a["number"], "顺丰", "sf1234567890"],
        [int(b["number"]), "中通快递", "ZT9876543210"],  # a number, as a spreadsheet makes it
        [c["number"], "SF", "SF2234567890"],
    ])  # fmt: skip

    found = preview(shop.api, file)
    assert (found["ship"], found["already"], found["errors"]) == (3, 0, 0)
    assert [(r["row"], r["carrier_code"], r["tracking_number"]) for r in found["rows"]] == [
        (2, "SF", "SF1234567890"), (3, "ZTO", "ZT9876543210"), (4, "SF", "SF2234567890"),
    ]  # fmt: skip
    assert (
        shop.api.get(f"/api/v1/orders/{a['id']}").json()["status"] == "confirmed"
    )  # a preview writes nothing

    done = shop.api.post(f"/api/v1/shipping-sheets/{found['upload']}")
    assert done.status_code == 200 and done.json() == {"shipped": 3, "already": 0}
    now = shop.api.get(f"/api/v1/orders/{b['id']}").json()
    assert (now["status"], now["carrier_code"], now["tracking_number"]) == ("shipped", "ZTO", "ZT9876543210")
    assert shop.api.post(f"/api/v1/shipping-sheets/{found['upload']}").status_code == 404  # used up

    again = preview(shop.api, file)  # the same file uploaded a second time
    assert (again["ship"], again["already"], again["errors"]) == (0, 3, 0)
    assert shop.api.post(f"/api/v1/shipping-sheets/{again['upload']}").json() == {"shipped": 0, "already": 3}
    steps = [e["kind"] for e in shop.api.get(f"/api/v1/orders/{a['id']}/timeline").json()]
    assert steps.count("status") == 2  # confirmed, shipped: once


def test_every_problem_is_named_by_row_and_column_and_nothing_ships(shop, other_shop, tee, tmp_path):
    good, pending, shipped = (
        confirmed(shop, tee),
        make_order(shop, [(tee.variant_id, 1)]),
        confirmed(shop, tee),
    )
    act(shop, shipped, "ship", carrier_code="SF", tracking_number="SF5555555555")
    product = other_shop_product(other_shop)
    theirs = [make_order(other_shop, [(product, 1)]) for _ in range(12)][-1]  # a number only they have
    file = sheet(tmp_path, [
        [good["number"], "顺丰", "SF1234567890"],
        ["99999999999", "顺丰", "SF1234567891"],
        [good["number"], "顺丰", "SF1234567892"],
        [pending["number"], "顺丰", "SF1234567893"],
        [shipped["number"], "中通", "ZT1234567894"],
        [theirs["number"], "顺丰", "SF1234567895"],
        [confirmed(shop, tee)["number"], "菜鸟", "CN1234567896"],
        [confirmed(shop, tee)["number"], "顺丰", "SF-12"],
    ])  # fmt: skip

    found = preview(shop.api, file)

    problems = {
        r["row"]: [(p["column"], p["code"]) for p in r["problems"]] for r in found["rows"] if r["problems"]
    }
    assert problems == {
        3: [("A", "sheet.ship.no_order")],
        4: [("A", "sheet.ship.repeated")],
        5: [("A", "order.invalid_transition")],
        6: [("A", "sheet.ship.shipped_otherwise")],
        7: [("A", "sheet.ship.no_order")],  # another shop's order is no order of this one
        8: [("B", "sheet.ship.courier")],
        9: [("C", "order.bad_tracking_number")],
    }
    refused = shop.api.post(f"/api/v1/shipping-sheets/{found['upload']}")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "sheet.ship.problems"
    assert shop.api.get(f"/api/v1/orders/{good['id']}").json()["status"] == "confirmed"  # all or none


def other_shop_product(other_shop) -> int:
    r = other_shop.api.post(
        "/api/v1/products", json={"name": "别家", "variants": [{"sku": "O-1", "price": 100, "on_hand": 50}]}
    )
    assert r.status_code == 201, r.text
    return r.json()["variants"][0]["id"]


def test_tokens_are_the_shops_own_and_expire(shop, other_shop, tee, tmp_path, runtime, monkeypatch):
    found = preview(shop.api, sheet(tmp_path, [[confirmed(shop, tee)["number"], "顺丰", "SF1234567890"]]))
    assert (
        other_shop.api.post(f"/api/v1/shipping-sheets/{found['upload']}").json()["error"]["code"]
        == "sheet.upload_gone"
    )
    monkeypatch.setattr(uploads, "KEEP_SECONDS", 0)
    assert (
        shop.api.post(f"/api/v1/shipping-sheets/{found['upload']}").json()["error"]["code"]
        == "sheet.upload_gone"
    )
    assert uploads.expire(runtime) >= 1


def test_a_hostile_file_is_refused_and_not_kept(shop, runtime):
    r = shop.api.post(
        "/api/v1/shipping-sheets/preview",
        files={"file": ("x.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)},
    )
    assert r.status_code == 415 and r.json()["error"]["code"] == "sheet.old_format"
    assert not list(uploads.folder(runtime, shop.id).glob("*"))


def test_a_gbk_csv_ships_like_a_workbook(shop, tee):
    order = confirmed(shop, tee)
    body = f"订单号,物流公司,运单号\r\n{order['number']},圆通速递,YT1234567890\r\n".encode("gbk")
    found = preview(shop.api, ("发货.csv", body, "text/csv"))
    assert found["ship"] == 1 and found["rows"][0]["carrier_code"] == "YTO"


def test_only_members_who_ship(runtime, shop, tmp_path):
    agent = make_member(runtime, shop, role="agent")
    assert (
        agent.post(
            "/api/v1/shipping-sheets/preview",
            files={"file": sheet(tmp_path, [["1", "顺丰", "SF1234567890"]])},
        ).status_code
        == 403
    )


def test_the_console_previews_and_ships(console, shop, tee, tmp_path):
    order = confirmed(shop, tee)
    page = console.get("/orders/ship-sheet")
    assert page.status_code == 200 and "template.xlsx" in page.text
    assert 'href="/orders/ship-sheet"' in console.get("/orders").text

    book = load_workbook(io.BytesIO(console.get("/orders/ship-sheet/template.xlsx").content))
    assert [c.value for c in book.worksheets[0][1]] == HEADER

    r = console.post(
        "/orders/ship-sheet/preview",
        files={"file": sheet(tmp_path, [[order["number"], "顺丰", "SF1234567890"]])},
        headers=HTMX,
    )
    assert r.status_code == 200 and order["number"] in r.text
    token = r.text.split('data-upload="')[1].split('"')[0]
    done = console.post(f"/orders/ship-sheet/{token}", headers=HTMX)
    assert done.status_code == 200 and "已发货 1 个订单。" in done.text
    assert shop.api.get(f"/api/v1/orders/{order['id']}").json()["status"] == "shipped"


def test_rounded_waybills_and_two_imports_at_once(shop, tee, tmp_path):
    rounded, order = confirmed(shop, tee), confirmed(shop, tee)
    found = preview(shop.api, sheet(tmp_path, [
        [rounded["number"], "顺丰", 1234567890123456789],  # a waybill Excel made a number: rounded
        [order["number"], "顺丰", "sf1234567890"],
    ]))  # fmt: skip
    assert [r["problems"][0]["code"] for r in found["rows"] if r["problems"]] == ["sheet.ship.no_tracking"]

    file = sheet(tmp_path, [[order["number"], "顺丰", "sf1234567890"]], name="one.xlsx")
    first, second = preview(shop.api, file), preview(shop.api, file)  # two tabs, both previewed
    assert shop.api.post(f"/api/v1/shipping-sheets/{first['upload']}").json() == {"shipped": 1, "already": 0}
    assert shop.api.post(f"/api/v1/shipping-sheets/{second['upload']}").json() == {"shipped": 0, "already": 1}
