"""Whether an uploaded file may be opened as a spreadsheet at all, decided before any parser sees it.

An .xlsx is a zip of XML parts. Its central directory is read first (never the data): too many
entries, too much uncompressed data in all or a ratio no real sheet has (a zip bomb), encrypted
entries, macros (``vbaProject.bin``, a macro-enabled content type) or a missing workbook part are
refused with a 4xx saying so. XML parts may not declare a DOCTYPE or entities (billion laughs,
external entities); openpyxl parses them through defusedxml besides. An old binary .xls (OLE) is
refused with a hint to save it as .xlsx. Anything else must be text: a CSV in UTF-8 (with or
without BOM) or GB18030 (what Excel on Chinese Windows writes), with no NUL byte and not markup.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from shangliao.core.errors import Invalid, ShangliaoError
from shangliao.core.i18n import N_

MAX_ENTRIES = 10_000
MAX_UNCOMPRESSED = 100 * 1024 * 1024
MAX_RATIO = 100  # uncompressed ÷ compressed, for entries big enough to matter
RATIO_FROM = 1024 * 1024
XML_HEAD = 4096  # bytes of each XML part looked at for a DOCTYPE
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP = b"PK\x03\x04"
MACRO_TYPES = (b"macroEnabled", b"vbaProject")


class Unsupported(ShangliaoError):
    status = 415


@dataclass(frozen=True)
class Checked:
    kind: Literal["xlsx", "csv"]
    encoding: str | None = None  # a CSV's


def _refused(code: str, message: str, **params: object) -> Invalid:
    return Invalid(code, message, **params)


def check(path: Path) -> Checked:
    """What ``path`` is, or a 415/422 saying why it cannot be read."""
    with path.open("rb") as f:
        head = f.read(8)
    if head.startswith(ZIP):
        _check_xlsx(path)
        return Checked("xlsx")
    if head.startswith(OLE):
        raise Unsupported(
            "sheet.old_format",
            N_("This is an old .xls workbook (or an encrypted one): save it as .xlsx and upload it again."),
        )
    return Checked("csv", _csv_encoding(path))


def _check_xlsx(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as z:
            entries = z.infolist()
            if len(entries) > MAX_ENTRIES:
                raise _refused("sheet.too_many_parts", N_("This workbook has too many parts to be a sheet."))
            if sum(e.file_size for e in entries) > MAX_UNCOMPRESSED:
                raise _refused(
                    "sheet.too_large", N_("This workbook is too large once unpacked (at most 100 MB).")
                )
            names = {e.filename for e in entries}
            for e in entries:
                if e.flag_bits & 0x1:
                    raise Unsupported(
                        "sheet.encrypted",
                        N_("This workbook is password-protected: save it without a password."),
                    )
                if e.file_size >= RATIO_FROM and e.file_size > MAX_RATIO * max(e.compress_size, 1):
                    raise _refused(
                        "sheet.bomb", N_("This workbook unpacks to far more than a sheet could hold.")
                    )
                if e.filename.lower().endswith("vbaproject.bin"):
                    raise _macros()
            if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
                raise Unsupported("sheet.not_xlsx", N_("This file is not an Excel workbook (.xlsx)."))
            if any(m in z.read("[Content_Types].xml") for m in MACRO_TYPES):
                raise _macros()
            for e in entries:
                if e.filename.endswith((".xml", ".rels")):
                    with z.open(e) as part:
                        start = part.read(XML_HEAD)
                    if b"<!DOCTYPE" in start or b"<!ENTITY" in start:
                        raise _refused(
                            "sheet.xml_entities",
                            N_("This workbook declares XML entities, which a sheet never does."),
                        )
    except zipfile.BadZipFile as exc:
        raise Unsupported("sheet.not_xlsx", N_("This file is not an Excel workbook (.xlsx).")) from exc


def _macros() -> Unsupported:
    return Unsupported(
        "sheet.macros", N_("Workbooks with macros are not accepted: save it as a plain .xlsx.")
    )


def _csv_encoding(path: Path) -> str:
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise Unsupported("sheet.not_text", N_("This file is neither an .xlsx workbook nor a CSV text."))
    if raw.lstrip()[:1] == b"<":
        raise Unsupported("sheet.not_text", N_("This file is neither an .xlsx workbook nor a CSV text."))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    raise Unsupported(
        "sheet.encoding", N_("This CSV is in an encoding that cannot be read: save it as UTF-8.")
    )
