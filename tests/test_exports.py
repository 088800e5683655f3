"""Orders to a spreadsheet (issue 15): the list's filters, every matching order, read back with
openpyxl cell by cell; nothing a spreadsheet would run; personal data as the member may see it;
written by the worker, downloaded once by whoever asked. On both databases."""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from shangliao.exports import rows, service, writers
from shangliao.exports.models import ExportJob
from tests.support.orders import ADDRESS, act, make_order
from tests.support.team import make_member

PLACED = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)  # 2026-12-02 00:30 in Shanghai: the next day there


def export(client, runtime, body: dict | None = None) -> dict:
    r = client.post("/api/v1/exports/orders", json=body or {})
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "queued"
    while service.run_next(runtime):  # other tests' shops may have exports queued too
        pass
    done = client.get(f"/api/v1/exports/{r.json()['id']}").json()
    assert done["status"] == "done", done
    return done


def fetch(client, job: dict):
    r = client.get(f"/api/v1/exports/{job['id']}/file")
    assert r.status_code == 200, r.text
    assert (
        r.headers["Cache-Control"] == "private, no-store" and "attachment" in r.headers["Content-Disposition"]
    )
    return r


def workbook(client, job: dict):
    return load_workbook(io.BytesIO(fetch(client, job).content))


def test_the_orders_and_their_lines_read_back_cell_by_cell(shop, tee, runtime, frozen):
    frozen(PLACED)
    order = make_order(shop, [(tee.variant_id, 2)], remark="请用顺丰")
    shop.api.post(
        f"/api/v1/orders/{order['id']}/payments", json={"method": "wechat", "amount": order["total"]}
    )

    job = export(shop.api, runtime)
    book = workbook(shop.api, job)

    assert book.sheetnames == ["订单", "订单明细"]
    orders, lines = book["订单"], book["订单明细"]
    header = [c.value for c in orders[1]]
    assert header[:12] == [
        "订单编号",
        "下单时间",
        "付款时间",
        "订单状态",
        "付款状态",
        "买家",
        "收货人",
        "手机",
        "省",
        "市",
        "区",
        "详细地址",
    ]
    row = {h: c for h, c in zip(header, orders[2], strict=True)}
    assert row["订单编号"].value == order["number"] and row["订单编号"].data_type == "s"  # text, not a number
    assert row["下单时间"].value == datetime(2026, 12, 2, 0, 30)  # the shop's day, a real date
    assert row["下单时间"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert (row["收货人"].value, row["手机"].value, row["省"].value) == (
        ADDRESS["receiver"],
        ADDRESS["phone"],
        "浙江省",
    )
    assert row["实付"].value == order["total"] / 100 and row["实付"].number_format == "0.00"
    assert (row["数量"].value, row["买家留言"].value, row["付款状态"].value) == (2, "请用顺丰", "已付款")
    assert row["商品"].value.endswith("×2")
    assert [c.value for c in lines[1]] == [
        "订单编号",
        "商品",
        "规格",
        "SKU",
        "数量",
        "单价",
        "金额",
        "订单状态",
    ]
    line = [c.value for c in lines[2]]
    assert line[0] == order["number"] and line[4] == 2 and line[6] == order["items"][0]["amount"] / 100
    assert lines.max_row == 2 and orders.max_row == 2


def test_the_export_holds_what_the_filters_find_and_nothing_else(shop, tee, runtime):
    pending = make_order(shop, [(tee.variant_id, 1)])
    confirmed = act(shop, make_order(shop, [(tee.variant_id, 1)]), "confirm")
    make_order(shop, [(tee.variant_id, 1)], draft=True)  # drafts are in no list

    everything = workbook(shop.api, export(shop.api, runtime))
    only = workbook(shop.api, export(shop.api, runtime, {"query": {"status": ["confirmed"]}}))

    numbers = {r[0].value for r in everything["订单"].iter_rows(min_row=2)}
    assert numbers == {pending["number"], confirmed["number"]}
    assert [r[0].value for r in only["订单"].iter_rows(min_row=2)] == [confirmed["number"]]


def test_nothing_a_spreadsheet_would_run_and_nothing_it_refuses(shop, tee, runtime):
    hostile = '=HYPERLINK("http://evil.example","点我")'
    make_order(shop, [(tee.variant_id, 1)], remark=hostile + "\x01\x0b")
    job = export(shop.api, runtime)
    cell = workbook(shop.api, job)["订单"]["W2"]  # 买家留言
    assert cell.value == hostile and cell.data_type == "s"  # a string cell, control characters gone

    csv_job = export(shop.api, runtime, {"format": "csv"})
    raw = fetch(shop.api, csv_job).content
    assert raw.startswith(b"\xef\xbb\xbf")  # a BOM: Excel on Chinese Windows reads UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    remark = rows[1][rows[0].index("买家留言")]
    assert remark == "'" + hostile  # a leading apostrophe: read as text


def test_personal_data_as_the_member_may_see_it(shop, tee, runtime, app):
    make_order(shop, [(tee.variant_id, 1)])
    clerk = make_member(runtime, shop, permissions=["orders.read", "orders.export"])
    job = export(clerk, runtime)
    row = [c.value for c in workbook(clerk, job)["订单"][2]]
    assert row[7] == "138****5678" and row[11] != ADDRESS["detail"]  # masked: no customers.pii
    with runtime.db.read() as session:
        assert session.get(ExportJob, job["id"]).full is False


def test_downloaded_once_by_whoever_asked(shop, other_shop, tee, runtime):
    make_order(shop, [(tee.variant_id, 1)])
    job = export(shop.api, runtime)
    other = make_member(runtime, shop, permissions=["orders.read", "orders.export"])
    assert other.get(f"/api/v1/exports/{job['id']}/file").status_code == 404
    assert other_shop.api.get(f"/api/v1/exports/{job['id']}").status_code == 404
    fetch(shop.api, job)
    again = shop.api.get(f"/api/v1/exports/{job['id']}/file")
    assert again.status_code == 410 and again.json()["error"]["code"] == "export.gone"
    assert not service.file_of(runtime, _job(runtime, job["id"])).exists()
    assert shop.api.get(f"/api/v1/exports/{job['id']}").json()["status"] == "downloaded"
    agent = make_member(runtime, shop, role="agent")
    assert agent.post("/api/v1/exports/orders", json={}).status_code == 403


def _job(runtime, job_id: int) -> ExportJob:
    with runtime.db.read() as session:
        job = session.get(ExportJob, job_id)
        session.expunge(job)
        return job


def test_a_full_sheet_continues_on_a_second(shop, tee, runtime, monkeypatch):
    monkeypatch.setattr(writers, "MAX_ROWS", 3)  # a header and two orders a sheet
    made = [make_order(shop, [(tee.variant_id, 1)]) for _ in range(5)]
    book = workbook(shop.api, export(shop.api, runtime))
    assert sorted(book.sheetnames) == sorted(
        ["订单", "订单(2)", "订单(3)", "订单明细", "订单明细(2)", "订单明细(3)"]
    )
    numbers = [r[0].value for name in ("订单", "订单(2)", "订单(3)") for r in book[name].iter_rows(min_row=2)]
    assert sorted(numbers) == sorted(o["number"] for o in made)
    assert book["订单(2)"]["A1"].value == "订单编号"


def test_bad_requests_change_nothing(shop, runtime):
    for body in (
        {"format": "xls"},
        {"query": {"status": ["nope"]}},
        {"extra": 1},
        {"query": {"cursor": "x"}},
    ):
        assert shop.api.post("/api/v1/exports/orders", json=body).status_code == 422, body
    assert shop.api.get("/api/v1/exports").json()["items"] == []


def test_progress_and_a_dead_workers_export_taken_over(shop, tee, runtime, frozen, monkeypatch):
    monkeypatch.setattr(service, "PROGRESS_ROWS", 2)
    monkeypatch.setattr(rows, "PAGE", 2)  # pages of two, walked by the list's cursor
    frozen(PLACED)
    for _ in range(5):
        make_order(shop, [(tee.variant_id, 1)])
    while service.run_next(runtime):  # other tests' exports out of the way
        pass
    r = shop.api.post("/api/v1/exports/orders", json={})
    claimed = service.claim(runtime)  # a worker takes it, then dies
    assert claimed.id == r.json()["id"] and service.claim(runtime) is None
    frozen(PLACED + service.LEASE + timedelta(seconds=1))
    seen = []
    real_mark = service._mark
    monkeypatch.setattr(service, "_mark", lambda rt, job, **v: (seen.append(v), real_mark(rt, job, **v)))
    assert service.run_next(runtime)
    assert seen[:3] == [{"rows_total": 5}, {"rows_done": 2}, {"rows_done": 4}]
    after = shop.api.get(f"/api/v1/exports/{claimed.id}").json()
    assert (after["status"], after["rows_done"]) == ("done", 5)

    service.run(runtime, claimed)  # the first worker wakes up and finishes late: it changes nothing
    assert shop.api.get(f"/api/v1/exports/{claimed.id}").json() == after
    assert service.file_of(runtime, claimed).exists() and not service.part_of(runtime, claimed).exists()


def test_an_export_nobody_takes_expires_in_a_day(shop, tee, runtime, frozen):
    frozen(PLACED)
    make_order(shop, [(tee.variant_id, 1)])
    job = export(shop.api, runtime)
    path = service.file_of(runtime, _job(runtime, job["id"]))
    assert path.exists()
    os.utime(path, (PLACED.timestamp(), PLACED.timestamp()))  # written then, as the clock has it
    frozen(PLACED + timedelta(hours=25))
    assert service.expire(runtime) >= 1
    assert not path.exists() and shop.api.get(f"/api/v1/exports/{job['id']}/file").status_code == 410


def test_the_console_exports_the_lists_filters(console, shop, tee, runtime):
    confirmed = act(shop, make_order(shop, [(tee.variant_id, 1)]), "confirm")
    make_order(shop, [(tee.variant_id, 1)])
    r = console.post(
        "/orders/export", data={"tab": "confirmed", "format": "xlsx"}, headers={"HX-Request": "true"}
    )
    assert r.status_code == 200 and 'hx-trigger="every 1s"' in r.text
    job_id = int(r.text.split('data-export="')[1].split('"')[0])
    while service.run_next(runtime):
        pass
    panel = console.get(f"/orders/exports/{job_id}").text
    assert f"/api/v1/exports/{job_id}/file" in panel and "every 3s" in panel
    book = load_workbook(io.BytesIO(console.get(f"/api/v1/exports/{job_id}/file").content))
    assert [r[0].value for r in book["订单"].iter_rows(min_row=2)] == [confirmed["number"]]
    assert "hx-trigger" not in console.get(f"/orders/exports/{job_id}").text  # downloaded: no more polling
    assert 'action="/orders/export"' in console.get("/orders").text


@pytest.fixture
def english(shop):
    shop.api.headers["Accept-Language"] = "en"
    yield
    shop.api.headers.pop("Accept-Language")


def test_english_headers_for_an_english_member(shop, tee, runtime, english):
    make_order(shop, [(tee.variant_id, 1)])
    book = workbook(shop.api, export(shop.api, runtime))
    assert book.sheetnames == ["Orders", "Order lines"] and book["Orders"]["A1"].value == "Order ID"


def test_the_audit_log_records_each_export(shop, tee, runtime):
    make_order(shop, [(tee.variant_id, 1)])
    export(shop.api, runtime)
    entries = shop.api.get("/api/v1/audit", params={"act": "export.orders"}).json()["items"]
    assert entries and entries[0]["data"]["orders"] == 1 and entries[0]["data"]["format"] == "xlsx"


def test_the_query_is_sealed_while_it_waits_and_dropped_once_written(shop, tee, runtime):
    make_order(shop, [(tee.variant_id, 1)])
    r = shop.api.post("/api/v1/exports/orders", json={"query": {"q": "13812345678"}})
    with runtime.db.read() as session:
        waiting = session.get(ExportJob, r.json()["id"])
        assert b"13812345678" not in waiting.query_enc
    while service.run_next(runtime):
        pass
    with runtime.db.read() as session:
        done = session.get(ExportJob, r.json()["id"])
        assert (done.status, done.rows_done, done.query_enc) == ("done", 1, None)
