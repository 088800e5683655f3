"""Printable documents over HTTP: packing slips (``orders.fulfil``) and an order's evidence pack
(``chat.read``). Both need ``orders.read`` as well and answer the file itself."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from pydantic import Field

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.chat.attachment_api import content_disposition
from shangliao.core.i18n import N_, gettext
from shangliao.core.schemas import PathId, RowRef, StrictModel
from shangliao.documents import service
from shangliao.documents.slips import MAX_SLIPS
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.errors import ErrorBody

router = APIRouter(tags=["documents"])
SLIPS = "orders.fulfil"
EVIDENCE = "chat.read"
NO_STORE = {"Cache-Control": "private, no-store"}
TOO_MANY = {429: {"model": ErrorBody, "description": "Too many orders printed this hour; see Retry-After"}}
PDF = {200: {"content": {"application/pdf": {}}, "description": "The PDF."}, **TOO_MANY}
ZIP = {
    200: {"content": {"application/zip": {}}, "description": "The PDF and its signature, zipped."},
    **TOO_MANY,
}
SLIPS_NAME = N_("Packing slips")
EVIDENCE_NAME = N_("Evidence pack")


class SlipsIn(StrictModel):
    # A long list is refused by the service with a clear code (documents.too_many_orders); the
    # schema's own bound only keeps a huge body from being parsed at all.
    order_ids: list[RowRef] = Field(
        max_length=10 * MAX_SLIPS,
        description=f"The orders, in the order to print them: 1 to {MAX_SLIPS}; repeats count once.",
    )


def pdf_response(data: bytes, name: str) -> Response:
    """A PDF shown in the browser's viewer (to print from it), or saved under ``name``."""
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": content_disposition("inline", name), **NO_STORE},
    )


def slips_response(rt: Runtime, actor: Actor, order_ids: list[int]) -> Response:
    """Shared with the console's bulk bar (web/console/document_pages.py)."""
    data = service.packing_slips(rt, actor, order_ids)
    return pdf_response(data, f"{gettext(SLIPS_NAME)}-{len(set(order_ids))}.pdf")


@router.post("/documents/packing-slips", response_class=Response, responses=PDF)
def print_packing_slips(
    body: SlipsIn, actor: Actor = Depends(staff(SLIPS)), rt: Runtime = Depends(get_runtime)
):
    """Packing slips (发货单) of up to 200 orders as one PDF, a page per order, in the order given:
    shop name, order number as a Code 128 barcode and a QR code, recipient, items with their
    specification and quantity, the buyer's message and the team's notes. Phones and addresses are
    masked unless the member holds `customers.pii`. An order of another shop or out of the
    member's data scope fails the whole request (404 `order.not_found`); more than 200 is 422
    `documents.too_many_orders`. Recorded in the audit log. Each order printed counts: at most 600
    orders an hour per member, slips and evidence packs together (429 `rate.limited` with
    Retry-After for a request that would pass it; a print that fails is not counted)."""
    return slips_response(rt, actor, body.order_ids)


@router.get("/orders/{order_id}/packing-slip", response_class=Response, responses=PDF)
def print_packing_slip(
    order_id: PathId, actor: Actor = Depends(staff(SLIPS)), rt: Runtime = Depends(get_runtime)
):
    """One order's packing slip (as `POST /documents/packing-slips` with that one id)."""
    return slips_response(rt, actor, [order_id])


@router.get("/orders/{order_id}/evidence-pack", response_class=Response, responses=ZIP)
def evidence_pack(
    order_id: PathId, actor: Actor = Depends(staff(EVIDENCE)), rt: Runtime = Depends(get_runtime)
):
    """The order's evidence pack for a dispute, signed: a .zip of `evidence-<number>.pdf` (the
    order, its timeline, the dispute checkpoints, the result of checking the chat's hash chain now,
    and the chat transcript with its pictures) and `evidence-<number>.sig.json` (HMAC-SHA256 of the
    PDF's SHA-256 under the installation's signing key, checked by `shangliao chat verify-pack`).
    The PDF's SHA-256 is also in the `X-Evidence-SHA256` header and in the audit log. Needs
    `orders.read` too; the chat is left out (the pack says so) when the conversation is out of the
    member's data scope. One order of the member's hourly print limit (see the packing slips)."""
    pack = service.evidence_pack(rt, actor, order_id)
    name = f"{gettext(EVIDENCE_NAME)}-{pack.number}.zip"
    return Response(
        pack.zipped(),
        media_type="application/zip",
        headers={
            "Content-Disposition": content_disposition("attachment", name),
            "X-Evidence-SHA256": pack.sha256,
            **NO_STORE,
        },
    )
