"""What every document is drawn with: A4 pages set in the shipped font (documents/fonts.py), text
that wraps Chinese, ruled tables, the order number as a Code 128 barcode and as a QR code, and a
footer on every page.

Text from the database goes through :func:`text`, which escapes it: reportlab reads a paragraph as
markup, so a buyer's note holding ``<font>`` or ``&`` must print as written, never be obeyed.

Any cell may hold more than a page: a chat message of 300 short lines, a buyer's note of 250, a
checkpoint card listing a hundred items. reportlab moves a row that does not fit to the next page,
and fails the whole document (``LayoutError``) when the row is taller than a page; so every table
here may split a row across pages (``SPLIT_IN_ROW``), each cell continuing where it stopped.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

import segno
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

from shangliao.documents.fonts import font
from shangliao.exports.cells import clean

PAGE = A4
MARGIN = 14 * mm
WIDTH = PAGE[0] - 2 * MARGIN  # what a line may fill
LINE = colors.HexColor("#9a9a9a")
SHADE = colors.HexColor("#eeeeee")
MUTED = colors.HexColor("#555555")
# reportlab keeps per-process state while it lays out (its font and glyph caches, subsets being
# built): one document at a time. It is CPU work under the GIL either way, so nothing is lost.
_drawing = threading.Lock()
# reportlab's Table(splitInRow=...): when not even the next row fits in the space left, the row is
# split between two lines of its cells (a picture, never taller than a page here, stays whole). The
# value is the least height in points either part may have: 1, since a larger one also refuses a row
# only a little taller than a page, which would fail again on the next.
SPLIT_IN_ROW = 1


@dataclass(frozen=True)
class Styles:
    body: ParagraphStyle
    small: ParagraphStyle
    muted: ParagraphStyle
    title: ParagraphStyle
    heading: ParagraphStyle
    cell: ParagraphStyle
    strong: ParagraphStyle


@cache
def styles() -> Styles:
    name = font()

    def style(key: str, size: float, **more: Any) -> ParagraphStyle:
        # CJK wrapping: a line may break between any two characters, as Chinese text does.
        return ParagraphStyle(key, fontName=name, fontSize=size, leading=size * 1.4, wordWrap="CJK", **more)

    return Styles(
        body=style("body", 10),
        small=style("small", 8.5),
        muted=style("muted", 8.5, textColor=MUTED),
        title=style("title", 18, spaceAfter=2 * mm),
        heading=style("heading", 12.5, spaceBefore=4 * mm, spaceAfter=1.5 * mm),
        cell=style("cell", 9),
        strong=style("strong", 12),
    )


def text(value: Any, style: ParagraphStyle | None = None) -> Paragraph:
    """``value`` as written (escaped, line breaks kept), wrapped to the space it is given."""
    written = escape(clean(str(value if value is not None else ""))).replace("\n", "<br/>")
    return Paragraph(written, style or styles().body)


def table(
    rows: Sequence[Sequence[Any]], widths: Sequence[float], *, header: bool = True, zebra: bool = False
) -> Table:
    """A ruled table; plain values become wrapping cells, a header row repeats on every page."""
    cell = styles().cell
    # A cell is a value (written as text), a flowable, or a list of flowables stacked in it.
    data = [[v if isinstance(v, Flowable | list) else text(v, cell) for v in row] for row in rows]
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), font()),  # else the table names Helvetica, which no PDF embeds
        ("GRID", (0, 0), (-1, -1), 0.4, LINE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), SHADE))
    if zebra:
        commands.append(("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f7f7f7")]))
    return Table(
        data,
        colWidths=list(widths),
        repeatRows=1 if header else 0,
        style=TableStyle(commands),
        hAlign="LEFT",
        splitInRow=SPLIT_IN_ROW,
    )


def fields(
    pairs: Sequence[tuple[str, Any]], widths: tuple[float, float] = (26 * mm, WIDTH - 26 * mm)
) -> Table:
    """Label and value, one pair a row, no rules: the head of a slip or a pack."""
    muted, body = styles().muted, styles().body
    rows = [
        [text(label, muted), value if isinstance(value, Flowable) else text(value, body)]
        for label, value in pairs
    ]
    return Table(
        rows,
        colWidths=list(widths),
        hAlign="LEFT",
        splitInRow=SPLIT_IN_ROW,
        style=TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), font()),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
            ]
        ),
    )


def layout(
    rows: Sequence[Sequence[Any]], widths: Sequence[float], commands: Sequence[tuple[Any, ...]]
) -> Table:
    """A borderless table placing flowables side by side (a page's head)."""
    return Table(
        [list(row) for row in rows],
        colWidths=list(widths),
        hAlign="LEFT",
        style=TableStyle([("FONT", (0, 0), (-1, -1), font()), *commands]),
    )


def barcode(value: str) -> Code128:
    """``value`` as a Code 128 barcode (a warehouse scanner reads order numbers), its digits
    printed under it in the shipped font."""
    # 0.4 mm bars: three dots of a 203 dpi label printer, read by a phone off a 150 dpi scan
    code = Code128(value, barHeight=13 * mm, barWidth=0.4 * mm, humanReadable=True)
    code.fontName, code.fontSize = font(), 8
    return code


class QrCode(Flowable):
    """``value`` as a QR code (a phone reads it), ``size`` square with its quiet zone, drawn as
    vector squares from segno's matrix: sharp at any size, and straight onto the page (reportlab's
    graphics renderer would name an unembedded Helvetica in the PDF)."""

    BORDER = 2  # modules of quiet zone: the page's white adds more

    def __init__(self, value: str, size: float = 24 * mm) -> None:
        super().__init__()
        self.matrix = [list(row) for row in segno.make_qr(value, error="m").matrix]  # never Micro QR
        self.size = size

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        cell = self.size / (len(self.matrix) + 2 * self.BORDER)
        self.canv.setFillColor(colors.black)
        for y, row in enumerate(self.matrix):
            x = 0
            while x < len(row):  # one rectangle per run of dark modules in a row
                if not row[x]:
                    x += 1
                    continue
                run = x
                while run < len(row) and row[run]:
                    run += 1
                bottom = self.size - (y + self.BORDER + 1) * cell
                self.canv.rect((x + self.BORDER) * cell, bottom, (run - x) * cell, cell, stroke=0, fill=1)
                x = run


def render(
    story: list[Flowable],
    *,
    title: str,
    author: str,
    lang: str,
    footer: Callable[[int], str],
) -> bytes:
    """The PDF of ``story``: A4, the shipped font from the first byte (no unembedded Helvetica is
    ever named), ``footer(page number)`` at the foot of every page."""
    out = io.BytesIO()
    name = font()

    def foot(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(name, 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(MARGIN, 8 * mm, clean(footer(doc.page)))
        canvas.restoreState()

    doc = SimpleDocTemplate(
        out,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 4 * mm,
        title=clean(title),
        author=clean(author),
        creator="Shangliao",
        lang=lang.replace("_", "-"),
        initialFontName=name,
        initialFontSize=10,
    )
    with _drawing:
        doc.build(story, onFirstPage=foot, onLaterPages=foot)
    return out.getvalue()
