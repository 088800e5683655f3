"""The floor for bench/export.py: a shop's orders and their lines streamed from the bare ``sqlite3``
driver into xlsxwriter ``constant_memory``, every column as it is stored (no decryption, no
translation, no masking), newest first as the export walks them.

    python bench/export_bare.py DB SLUG OUT.xlsx
"""

from __future__ import annotations

import sqlite3
import sys

import xlsxwriter


def write(sheet, cursor) -> int:
    names = [d[0] for d in cursor.description]
    for col, name in enumerate(names):
        sheet.write_string(0, col, name)
    row = 0
    for row, values in enumerate(cursor, start=1):
        for col, value in enumerate(values):
            if value is None or isinstance(value, bytes):
                continue
            if isinstance(value, int | float):
                sheet.write_number(row, col, value)
            else:
                sheet.write_string(row, col, str(value))
    return row


def main(db: str, slug: str, out: str) -> None:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    (shop_id,) = conn.execute("SELECT id FROM shops WHERE slug = ?", (slug,)).fetchone()
    book = xlsxwriter.Workbook(
        out, {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    orders = conn.execute(
        "SELECT * FROM orders WHERE shop_id = ? AND status != 'draft' ORDER BY created_at DESC, id DESC",
        (shop_id,),
    )
    n = write(book.add_worksheet("orders"), orders)
    lines = conn.execute(
        "SELECT i.* FROM order_items i JOIN orders o ON o.id = i.order_id"
        " WHERE o.shop_id = ? AND o.status != 'draft' ORDER BY o.created_at DESC, o.id DESC, i.position",
        (shop_id,),
    )
    write(book.add_worksheet("lines"), lines)
    book.close()
    print(f"orders={n}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
