"""Writing an export: an xlsx workbook (orders and their lines on two sheets) or a CSV (a row per
order line), streamed row by row so memory stays flat whatever the size.

The xlsx is written with xlsxwriter's ``constant_memory``: each sheet's rows go to its own
temporary file as they come (rows in order within a sheet; the two sheets may interleave). A sheet
that reaches Excel's 1,048,576 rows continues on a new one named with a number: 订单(2).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import xlsxwriter

from shangliao.core.i18n import N_, gettext
from shangliao.exports.cells import clean, csv_text, local_moment
from shangliao.exports.columns import CSV_COLUMNS, ITEM_COLUMNS, ORDER_COLUMNS, Column

MAX_ROWS = 1_048_576  # Excel's, the header row included
ORDERS_SHEET, ITEMS_SHEET = N_("Orders"), N_("Order lines")
MONEY, MOMENT = "0.00", "yyyy-mm-dd hh:mm:ss"


class _Sheet:
    """One sheet's rows, continued on a numbered sheet when it is full."""

    def __init__(self, out: XlsxBook, name: str, columns: tuple[Column, ...]) -> None:
        self.out, self.name, self.columns = out, name, columns
        self.part, self.sheet, self.row = 0, None, 0
        self._next_part()

    def _next_part(self) -> None:
        self.part += 1
        title = self.name if self.part == 1 else f"{self.name}({self.part})"
        self.sheet = self.out.book.add_worksheet(title[:31])
        for i, column in enumerate(self.columns):
            self.sheet.set_column(i, i, column.width)
            self.sheet.write_string(0, i, gettext(column.header, self.out.locale), self.out.header)
        self.sheet.freeze_panes(1, 0)
        self.row = 1

    def add(self, values: dict[str, Any]) -> None:
        if self.row >= self.out.max_rows:
            self._next_part()
        sheet, row, out = self.sheet, self.row, self.out
        for i, column in enumerate(self.columns):
            value = values.get(column.key)
            if value is None or value == "":
                continue
            if column.kind == "money":
                sheet.write_number(row, i, value / 100, out.money)
            elif column.kind == "int":
                sheet.write_number(row, i, value)
            elif column.kind == "moment":
                sheet.write_datetime(row, i, local_moment(value, out.timezone), out.moment)
            else:  # as a string cell, whatever it begins with: never a formula
                sheet.write_string(row, i, clean(str(value)))
        self.row += 1


class XlsxBook:
    """A workbook of sheets written as rows come (``sheet(title, columns).add(values)``)."""

    def __init__(self, path: Path, *, locale: str, timezone: str) -> None:
        self.locale, self.timezone, self.max_rows = locale, timezone, MAX_ROWS
        self.book = xlsxwriter.Workbook(
            str(path),
            {"constant_memory": True, "tmpdir": str(path.parent), "strings_to_formulas": False,
             "strings_to_urls": False, "strings_to_numbers": False},
        )  # fmt: skip
        self.header = self.book.add_format({"bold": True, "bg_color": "#F2F2F2"})
        self.money = self.book.add_format({"num_format": MONEY})
        self.moment = self.book.add_format({"num_format": MOMENT})

    def sheet(self, title: str, columns: tuple[Column, ...]) -> _Sheet:
        return _Sheet(self, gettext(title, self.locale), columns)

    def close(self) -> None:
        self.book.close()


class XlsxOut(XlsxBook):
    def __init__(self, path: Path, *, locale: str, timezone: str) -> None:
        super().__init__(path, locale=locale, timezone=timezone)
        self.orders = self.sheet(ORDERS_SHEET, ORDER_COLUMNS)
        self.items = self.sheet(ITEMS_SHEET, ITEM_COLUMNS)

    def add(self, order: dict[str, Any], lines: list[dict[str, Any]]) -> None:
        self.orders.add(order)
        for line in lines:
            self.items.add(line)


class CsvTable:
    """UTF-8 with a BOM (Excel on Chinese Windows then reads it as UTF-8), CRLF, a header row."""

    def __init__(self, path: Path, columns: tuple[Column, ...], *, locale: str, timezone: str) -> None:
        self.columns, self.timezone = columns, timezone
        self.file = path.open("w", encoding="utf-8-sig", newline="")
        self.writer = csv.writer(self.file, lineterminator="\r\n")
        self.writer.writerow([gettext(c.header, locale) for c in columns])

    def _field(self, column: Column, value: Any) -> str:
        if value is None or value == "":
            return ""
        if column.kind == "money":
            return f"{value / 100:.2f}"
        if column.kind == "int":
            return str(value)
        if column.kind == "moment":
            return local_moment(value, self.timezone).strftime("%Y-%m-%d %H:%M:%S")
        return csv_text(str(value))

    def row(self, values: dict[str, Any]) -> None:
        self.writer.writerow([self._field(c, values.get(c.key)) for c in self.columns])

    def close(self) -> None:
        self.file.close()


class CsvOut(CsvTable):
    """A row per order line."""

    def __init__(self, path: Path, *, locale: str, timezone: str) -> None:
        super().__init__(path, CSV_COLUMNS, locale=locale, timezone=timezone)

    def add(self, order: dict[str, Any], lines: list[dict[str, Any]]) -> None:
        for line in lines or [{}]:
            self.row({**order, **{k: v for k, v in line.items() if k not in ("number", "status")}})


FORMATS = {"xlsx": XlsxOut, "csv": CsvOut}
MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
