"""Reading uploaded sheets (issue 15): what may be opened at all (sheets/guard.py) and its rows by
meaning (sheets/read.py). Each hostile file is refused with its own code before a parser runs."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import xlsxwriter

from shangliao.core.errors import ShangliaoError
from shangliao.sheets import guard
from shangliao.sheets.read import read_table

FIXTURES = Path(__file__).parent / "fixtures" / "sheets"
ALIASES = {
    "number": ("订单编号", "订单号", "order id"),
    "carrier": ("快递公司", "物流公司"),
    "tracking": ("物流单号", "快递单号", "运单号"),
}


def xlsx(path: Path, rows: list[list], *, formulas: dict | None = None) -> Path:
    """A workbook as Excel writes it (xlsxwriter); ``formulas``: {(row, col): (formula, cached value)}."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("发货")
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            if (r, c) in (formulas or {}):
                formula, cached = formulas[(r, c)]
                sheet.write_formula(r, c, formula, None, cached)
            elif value is not None:
                sheet.write(r, c, value)
    book.close()
    return path


def refused(path: Path) -> str:
    with pytest.raises(ShangliaoError) as caught:
        checked = guard.check(path)
        read_table(path, checked, ALIASES)
    return caught.value.code


def test_a_plain_workbook_reads_by_meaning_with_row_numbers(tmp_path):
    path = xlsx(tmp_path / "a.xlsx", [
        ["批量发货", None, None],  # a title row above the header
        ["订单号*", " 快递公司 ", "运单号（顺丰）", "备注"],
        ["26120700017", "顺丰速运", "SF1234567890", "x"],
        [None, None, None],
        [26120700015, "中通快递", "ZT9876543210"],
    ])  # fmt: skip
    table = read_table(path, guard.check(path), ALIASES, required=("number", "tracking"))
    assert table.columns == {"number": 0, "carrier": 1, "tracking": 2} and table.ignored == ["备注"]
    assert [(r.number, r.values["number"], r.values["tracking"]) for r in table.rows] == [
        (3, "26120700017", "SF1234567890"),
        (5, 26120700015, "ZT9876543210"),  # the spreadsheet's row numbers; a number stays a number
    ]
    assert table.cell("tracking") == "C"


def test_a_formula_gives_its_cached_value_and_is_never_evaluated(tmp_path):
    path = xlsx(tmp_path / "f.xlsx", [["订单编号", "物流单号"], ["1", None]],
                formulas={(1, 1): ('=WEBSERVICE("http://evil.example/")', "SF0000000001")})  # fmt: skip
    [row] = read_table(path, guard.check(path), ALIASES).rows
    assert row.values["tracking"] == "SF0000000001"


def test_a_sheet_saved_by_libreoffice_reads_like_one_from_excel(tmp_path):
    libre = FIXTURES / "ship-libreoffice.xlsx"
    excel = xlsx(tmp_path / "e.xlsx", [["订单编号", "快递公司", "物流单号"],
                                       [26120700017, "顺丰速运", "SF1234567890"],
                                       [26120700015, "中通快递", "ZT9876543210"]])  # fmt: skip
    read = [[r.values for r in read_table(p, guard.check(p), ALIASES).rows] for p in (libre, excel)]
    assert read[0] == read[1]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_from_excel_on_chinese_windows(tmp_path, encoding):
    path = tmp_path / "s.csv"
    path.write_bytes("订单编号,快递公司,物流单号\r\n26120700017,顺丰速运,SF1234567890\r\n".encode(encoding))
    checked = guard.check(path)
    assert checked.kind == "csv"
    [row] = read_table(path, checked, ALIASES).rows
    assert row.values == {"number": "26120700017", "carrier": "顺丰速运", "tracking": "SF1234567890"}


def test_a_zip_bomb_is_refused_from_its_directory(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (50 * 1024 * 1024))  # 50 MB of zeros, ~50 KB packed
    assert refused(path) == "sheet.bomb"


def test_too_many_parts_or_too_much_unpacked(tmp_path, monkeypatch):
    many = tmp_path / "many.xlsx"
    with zipfile.ZipFile(many, "w") as z:
        for i in range(30):
            z.writestr(f"x/{i}.txt", "")
    monkeypatch.setattr(guard, "MAX_ENTRIES", 20)
    assert refused(many) == "sheet.too_many_parts"
    monkeypatch.setattr(guard, "MAX_UNCOMPRESSED", 100)
    big = xlsx(tmp_path / "big.xlsx", [["订单编号"], ["1"]])
    assert refused(big) == "sheet.too_large"


def test_xml_entities_are_refused(tmp_path):
    path = xlsx(tmp_path / "laughs.xlsx", [["订单编号"], ["1"]])
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol2;</t></si></sst>'
    )
    rewritten = tmp_path / "laughs2.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(rewritten, "w") as dst:
        for item in src.infolist():
            data = laughs.encode() if item.filename == "xl/sharedStrings.xml" else src.read(item)
            dst.writestr(item, data)
    assert refused(rewritten) == "sheet.xml_entities"


def test_macros_old_formats_and_disguises(tmp_path):
    macro = tmp_path / "m.xlsx"
    with (
        zipfile.ZipFile(xlsx(tmp_path / "base.xlsx", [["订单编号"], ["1"]])) as src,
        zipfile.ZipFile(macro, "w") as dst,
    ):
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 macros")
    assert refused(macro) == "sheet.macros"

    xls = tmp_path / "old.xls"
    xls.write_bytes(guard.OLE + b"\0" * 600)
    assert refused(xls) == "sheet.old_format"

    html = tmp_path / "export.xls"  # what some systems call an Excel file: an HTML table
    html.write_text("<html><table><tr><td>订单编号</td></tr></table></html>", encoding="utf-8")
    assert refused(html) == "sheet.not_text"

    binary = tmp_path / "pic.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0")
    assert refused(binary) == "sheet.not_text"

    not_a_book = tmp_path / "z.xlsx"
    with zipfile.ZipFile(not_a_book, "w") as z:
        z.writestr("hello.txt", "hi")
    assert refused(not_a_book) == "sheet.not_xlsx"


def test_what_a_sheet_must_have(tmp_path):
    no_header = xlsx(tmp_path / "h.xlsx", [["a", "b"], ["1", "2"]])
    assert refused(no_header) == "sheet.no_header"
    empty = xlsx(tmp_path / "e.xlsx", [["订单编号", "物流单号"]])
    assert refused(empty) == "sheet.empty"
    missing = xlsx(tmp_path / "m.xlsx", [["订单编号"], ["1"]])
    with pytest.raises(ShangliaoError) as caught:
        read_table(missing, guard.check(missing), ALIASES, required=("number", "tracking"))
    assert caught.value.code == "sheet.missing_columns" and "物流单号" in str(caught.value)
    long = xlsx(tmp_path / "l.xlsx", [["订单编号"], *[[str(i)] for i in range(6)]])
    with pytest.raises(ShangliaoError) as caught:
        read_table(long, guard.check(long), ALIASES, max_rows=5)
    assert caught.value.code == "sheet.too_many_rows"


def test_a_damaged_workbook_is_a_clear_refusal(tmp_path):
    path = xlsx(tmp_path / "ok.xlsx", [["订单编号"], ["1"]])
    damaged = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(damaged, "w") as dst:
        for item in src.infolist():
            data = (
                b"<worksheet><sheetData><row"
                if item.filename == "xl/worksheets/sheet1.xml"
                else src.read(item)
            )
            dst.writestr(item, data)
    assert refused(damaged) == "sheet.unreadable"


def test_openpyxl_parses_through_defusedxml():
    import openpyxl

    assert openpyxl.DEFUSEDXML is True  # entity expansion refused by the parser too, not only by guard


def test_long_cells_and_padded_sheets_are_bounded(tmp_path, monkeypatch):
    from shangliao.sheets import read

    long = xlsx(tmp_path / "long.xlsx", [["订单编号", "物流单号"], ["1", "S" * 300]])
    with pytest.raises(ShangliaoError) as caught:
        read_table(long, guard.check(long), ALIASES)
    assert caught.value.code == "sheet.cell_too_long" and "B2" in str(caught.value)

    monkeypatch.setattr(read, "EMPTY_RUN", 10)
    padded = xlsx(tmp_path / "padded.xlsx", [["订单编号"], ["1"], *[[None]] * 40, ["2"]])
    assert [r.values["number"] for r in read_table(padded, guard.check(padded), ALIASES).rows] == ["1"]


def test_couriers_as_sheets_name_them():
    from shangliao.orders.couriers import courier_from_text

    named = {"顺丰": "SF", "顺丰速运": "SF", "sf": "SF", "中通": "ZTO", "邮政速递": "EMS", "中国邮政": "YZPY",
             "邮政快递包裹": "YZPY", "J&T Express": "JTSD", "京东物流": "JD", "德邦": "DBL"}  # fmt: skip
    assert {text: courier_from_text(text) for text in named} == named
    for other_company in ("中通快运", "顺丰快运", "德邦快运", "快递", "菜鸟", ""):
        assert courier_from_text(other_company) is None
