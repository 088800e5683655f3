"""Rows of an uploaded sheet (after guard.check), keyed by what their columns mean.

The header row is the first non-empty one; each header is matched against the names a column goes
by on the big platforms and in merchants' own sheets (``aliases``: 物流单号, 快递单号, 运单号 …), after
dropping spaces, a required-marker ``*`` and a unit in brackets (数量(件)). An .xlsx is read by
openpyxl in read-only mode with ``data_only``: a formula's cached value, never the formula, and
nothing is evaluated. Rows are numbered as the spreadsheet numbers them, so a problem can be named
by row and column (B7).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from shangliao.core.errors import Invalid
from shangliao.core.i18n import N_
from shangliao.sheets.guard import Checked

MAX_ROWS = 2000
MAX_COLUMNS = 64  # columns read of each row: no sheet of ours needs more
MAX_CELL = 256  # characters in one cell: a name, a number, an address line
EMPTY_RUN = 1000  # empty rows in a row after which the sheet is taken to end
HEADER_SEARCH = 10  # rows looked at for the header (a title row or two above it is common)
_NOISE = re.compile(r"[\s*＊]|[（(][^）)]*[）)]")


@dataclass(frozen=True)
class Row:
    number: int  # as the spreadsheet shows it
    values: dict[str, Any]


@dataclass
class Table:
    columns: dict[str, int]  # meaning → 0-based column index
    rows: list[Row] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # headers that mean nothing here

    def cell(self, key: str) -> str:
        """A column's spreadsheet letter, for a problem's place (B, AA…)."""
        return get_column_letter(self.columns[key] + 1)


def normal(header: Any) -> str:
    return _NOISE.sub("", str(header or "")).lower()


def _raw_rows(path: Path, checked: Checked) -> Iterator[tuple[int, list[Any]]]:
    if checked.kind == "xlsx":
        try:  # whatever a damaged part makes openpyxl raise (a parse error, a missing part) is the file's
            book = load_workbook(path, read_only=True, data_only=True)
            try:
                sheet = next(
                    (ws for ws in book.worksheets if ws.sheet_state == "visible"), book.worksheets[0]
                )
                sheet.reset_dimensions()  # the size a file declares is not believed (A1:XFD1048576)
                rows = sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS)
                for number, values in enumerate(rows, start=1):
                    yield number, list(values)
            finally:
                book.close()
        except Exception as exc:
            raise Invalid("sheet.unreadable", N_("This workbook is damaged and cannot be read.")) from exc
        return
    text = path.read_bytes().decode(checked.encoding or "utf-8-sig")
    try:  # only the delimiter is guessed: a sniffed quote character could be the ' before =1+1
        delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",\t;").delimiter
    except csv.Error:
        delimiter = ","
    try:  # universal newlines: a lone CR (old Mac files) ends a line too
        rows = csv.reader(io.StringIO(text, newline=None), csv.excel, delimiter=delimiter)
        for number, values in enumerate(rows, start=1):
            yield number, values[:MAX_COLUMNS]
    except csv.Error as exc:
        raise Invalid("sheet.bad_csv", N_("This CSV cannot be read: {reason}."), reason=str(exc)) from exc


# What our own exports (and other formula-safe writers) put before a value that could be read as a
# formula: '=1+1 is the text =1+1, so a sheet exported and imported back reads as it was.
_FORMULA_GUARD = re.compile(r"^'(?=[=+\-@\t\r])")


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = _FORMULA_GUARD.sub("", value.strip())
        return value or None
    if isinstance(value, datetime | int | float):
        return value
    return None if value is None else str(value)


def read_table(
    path: Path,
    checked: Checked,
    aliases: Mapping[str, tuple[str, ...]],
    *,
    required: tuple[str, ...] = (),
    max_rows: int = MAX_ROWS,
) -> Table:
    """The sheet's rows as ``{meaning: value}``; a 422 naming the missing columns or a sheet too long."""
    wanted = {normal(name): key for key, names in aliases.items() for name in (key, *names)}
    rows = _raw_rows(path, checked)
    table: Table | None = None
    empty = 0
    for number, values in rows:
        if table is None:
            if number > HEADER_SEARCH:
                break
            found = {wanted[normal(v)]: i for i, v in enumerate(values) if normal(v) in wanted}
            if found:
                table = Table(
                    found, ignored=[str(v) for v in values if v not in (None, "") and normal(v) not in wanted]
                )
            continue
        cells = {key: _clean(values[i]) if i < len(values) else None for key, i in table.columns.items()}
        if all(v is None for v in cells.values()):
            empty += 1
            if empty >= EMPTY_RUN:
                break  # the rest is blank (or a file padded to make us walk a million empty rows)
            continue
        empty = 0
        for key, value in cells.items():
            if isinstance(value, str) and len(value) > MAX_CELL:
                raise Invalid(
                    "sheet.cell_too_long",
                    N_("Cell {cell} is too long (at most {n} characters)."),
                    cell=f"{table.cell(key)}{number}",
                    n=MAX_CELL,
                )
        if len(table.rows) >= max_rows:
            raise Invalid("sheet.too_many_rows", N_("A sheet may have at most {n} rows."), n=max_rows)
        table.rows.append(Row(number, cells))
    if table is None:
        raise Invalid("sheet.no_header", N_("No header row was found: the first rows must name the columns."))
    missing = [key for key in required if key not in table.columns]
    if missing:
        raise Invalid(
            "sheet.missing_columns",
            N_("The sheet lacks the columns: {names}."),
            names="、".join(aliases[k][0] if aliases[k] else k for k in missing),
            details={"missing": missing},
        )
    if not table.rows:
        raise Invalid("sheet.empty", N_("The sheet has no rows under its header."))
    return table
