"""``/api/v1/quote-sheets``: 报价单 / 批量下单 from a spreadsheet. Upload it for a preview (kept an
hour under a token), then import by the token for a customer: one merged order, one order per
recipient, or a quote card in their chat. Needs ``orders.write`` (and ``chat.write`` for a quote
card); the same file imported again makes nothing new (see ``sheets.quotes``)."""

from __future__ import annotations

import hashlib
from pathlib import Path as FilePath
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request

from shangliao.auth.access import check_permission, staff
from shangliao.auth.actor import Actor
from shangliao.chat.attachment_api import upload_body
from shangliao.core.errors import Invalid
from shangliao.core.i18n import current_locale
from shangliao.core.schemas import RowRef, StrictModel
from shangliao.runtime import Runtime, get_runtime
from shangliao.sheets import quotes, uploads
from shangliao.sheets.api import SHEET_RESPONSES, Token, receive_sheet
from shangliao.sheets.guard import Checked
from shangliao.sheets.read import read_table

router = APIRouter(prefix="/quote-sheets", tags=["orders"])
WRITE = "orders.write"


class QuoteImportIn(StrictModel):
    customer_id: RowRef
    mode: Literal["merged", "per_recipient", "quote"] = "merged"


def _read(path: FilePath, checked: Checked):
    return read_table(path, checked, quotes.ALIASES, required=("quantity",))


def file_sha256(path: FilePath) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


async def preview_quote_upload(request: Request, rt: Runtime, actor: Actor) -> dict[str, Any]:
    """What importing the uploaded quote sheet would do (shared with the console)."""
    locale = current_locale.get()

    def describe(path: FilePath, checked: Checked) -> dict[str, Any]:
        table = _read(path, checked)
        with rt.db.read() as session:
            found = quotes.plan(session, actor.shop_id, table, locale)
            earlier = quotes.earlier_import(session, actor, file_sha256(path))
            return {**quotes.summary(found, locale), "imported": [quotes.brief(o) for o in earlier]}

    return await receive_sheet(request, rt, actor, describe)


def import_quote_upload(rt: Runtime, actor: Actor, token: str, body: QuoteImportIn) -> dict[str, Any]:
    """Read the kept sheet again and make its orders (or its quote card), all or none."""
    if body.mode == quotes.QUOTE:
        check_permission(actor, "chat.write")
    path, checked = uploads.find(rt, actor.shop_id, token)
    table, locale, sha256 = _read(path, checked), current_locale.get(), file_sha256(path)
    with rt.db.write() as session:
        found = quotes.plan(session, actor.shop_id, table, locale)
        if found.errors:
            rows = [r for r in quotes.summary(found, locale)["rows"] if r["problems"]]
            raise Invalid("sheet.quote.problems", quotes.PROBLEMS, details={"rows": rows})
        done = quotes.do_import(
            session, rt.keyring, actor, found, sha256=sha256, customer_id=body.customer_id, mode=body.mode
        )
    uploads.forget(path)
    return done


@router.post(
    "/preview",
    responses=SHEET_RESPONSES,
    openapi_extra=upload_body(
        "The sheet (.xlsx or .csv): 商品名称 or SKU, 规格, 数量, 单价, and recipients."
    ),
)
async def preview_sheet(
    request: Request, actor: Actor = Depends(staff(WRITE)), rt: Runtime = Depends(get_runtime)
) -> dict:
    """Each row's matched variant (`matched_by`: sku, name or words), quantity, price (the catalog's
    when the sheet gives none), recipient (an index into `recipients`) and problems (row, column,
    code, message). `imported` lists the orders this very file made before. Nothing is written."""
    return await preview_quote_upload(request, rt, actor)


@router.post("/{upload}")
def import_sheet(
    upload: Token,
    body: QuoteImportIn,
    actor: Actor = Depends(staff(WRITE)),
    rt: Runtime = Depends(get_runtime),
) -> dict:
    """Make the previewed sheet's orders for `customer_id` (`merged`: one order, to the sheet's one
    recipient or the customer's default address; `per_recipient`: one order each) or send it as a
    quote card (`quote`). Any problem: 422 and nothing made. The same file again: `already: true`
    with the orders it made the first time."""
    return import_quote_upload(rt, actor, upload, body)
