"""HTTP routes of payment proofs: the customer sends a screenshot for their order (shop page), staff
list the proofs of an order and record or dismiss each (payments/proofs.py).

The upload is ``async`` like a chat attachment's: the body is streamed to disk under the upload
limit, then decoded and re-encoded in the threadpool, outside the writer (rule 16 of
docs/architecture.md); only then is one write unit submitted.
"""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Request
from pydantic import Field

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.chat.attachment_api import UPLOAD_RESPONSES, UPLOADS, _upload_and_send, upload_body
from shangliao.chat.attachments import Upload
from shangliao.core.schemas import PathId, StrictModel
from shangliao.customers.masking import order_view
from shangliao.orders.api import _change
from shangliao.orders.schemas import PaymentIn
from shangliao.orders.timeline import access_order
from shangliao.orders.views import order_dict
from shangliao.payments import proofs
from shangliao.runtime import Runtime, get_runtime
from shangliao.shops.models import Shop
from shangliao.storefront.api import shop_page_router, visitor
from shangliao.storefront.visitors import Guest
from shangliao.web.errors import ERROR_RESPONSES
from shangliao.web.responses import JSONResponse

router = APIRouter(prefix="/api/v1", tags=["payments"], responses=ERROR_RESPONSES)
guest_router = shop_page_router()


class ProofFields(StrictModel):
    note: str = Field(default="", max_length=200)


class DismissIn(StrictModel):
    reason: str = Field(min_length=1, max_length=200, description="Why: the customer reads it.")


_PROOF_BODY = upload_body(
    "A screenshot of the payment (JPEG, PNG, GIF or WebP); kept re-encoded, without its metadata.",
    note={"type": "string", "maxLength": 200, "description": "A word for the shop."},
)


# --- the customer's side ------------------------------------------------------------------------------


@guest_router.post(
    "/orders/{order_id}/payment-proofs",
    status_code=201,
    responses=UPLOAD_RESPONSES,
    openapi_extra=_PROOF_BODY,
)
async def upload_proof(
    shop: str,
    order_id: PathId,
    request: Request,
    guest: Guest = Depends(visitor()),
    rt: Runtime = Depends(get_runtime),
):
    """Send the shop a screenshot of your payment for this order (multipart form, field `file`).
    The shop sees it in the chat and records the payment, or tells you why it could not."""

    def admit() -> None:  # before a byte of the body is read: the order, then the rate
        with rt.db.read() as session:
            proofs.check_takes_proof(session, proofs.access_guest_order(session, guest, order_id))
        rt.limits.check(UPLOADS, "upload", "customer", str(guest.customer_id))

    await to_thread.run_sync(admit)

    def keep(upload: Upload, fields: ProofFields) -> Any:
        photo = proofs.encode_proof(upload, rt.settings.uploads_dir)
        try:
            with rt.db.write() as session:
                timezone = session.get(Shop, guest.shop_id).timezone
                proof = proofs.do_upload_proof(
                    session,
                    rt.keyring,
                    rt.settings.uploads_dir,
                    guest,
                    timezone,
                    order_id,
                    photo,
                    fields.note.strip(),
                )
                session.flush()
                answer = proofs.public_proof(proof)
        except BaseException:
            photo.discard()  # refused or not committed: the placed file goes too
            raise
        return JSONResponse(answer, status_code=201)

    return await _upload_and_send(request, rt, ProofFields, keep)


@guest_router.get("/orders/{order_id}/payment-proofs")
def my_proofs(
    shop: str, order_id: PathId, guest: Guest = Depends(visitor()), rt: Runtime = Depends(get_runtime)
) -> Any:
    """The proofs you sent for this order, newest first, and what the shop made of each."""
    with rt.db.read() as session:
        return JSONResponse(
            {"items": [proofs.public_proof(p) for p in proofs.guest_proofs(session, guest, order_id)]}
        )


# --- the shop's side ----------------------------------------------------------------------------------


@router.get("/orders/{order_id}/payment-proofs")
def order_proofs(
    order_id: PathId, actor: Actor = Depends(staff("orders.read")), rt: Runtime = Depends(get_runtime)
) -> Any:
    """The payment proofs the customer sent for this order, newest first (the picture is
    `GET /api/v1/attachments/{attachment_id}`)."""
    with rt.db.read() as session:
        order = access_order(session, actor, order_id)
        return JSONResponse({"items": [proofs.proof_dict(p) for p in proofs.proofs_of(session, order)]})


def _with_order(rt: Runtime, actor: Actor, proof_id: int):
    """The answer of a review: the proof as it is now, and its order (``_change`` wraps it)."""

    def answer(session, order) -> JSONResponse:
        session.flush()
        proof = proofs.access_proof(session, order, proof_id)
        body = proofs.proof_dict(proof) | {
            "order": order_dict(order, rt.keyring, order_view(actor, order.status))
        }
        return JSONResponse(body)

    return answer


@router.post("/orders/{order_id}/payment-proofs/{proof_id}/record")
def record_proof(
    order_id: PathId,
    proof_id: PathId,
    body: PaymentIn,
    actor: Actor = Depends(staff("payments.record")),
    rt: Runtime = Depends(get_runtime),
) -> Any:
    """Record the payment this proof shows, in one step: the proof is marked recorded and linked to
    the payment (source `proof`). More than is still owed is refused and nothing changes."""

    def record(session, order):
        proof = proofs.access_proof(session, order, proof_id, lock=True)
        proofs.do_record_from_proof(
            session,
            actor,
            order,
            proof,
            method=body.method,
            amount=body.amount,
            reference=body.reference,
            note=body.note,
            paid_at=body.paid_at,
        )
        return _with_order(rt, actor, proof_id)(session, order)

    return _change(rt, actor, order_id, record)


@router.post("/orders/{order_id}/payment-proofs/{proof_id}/dismiss")
def dismiss_proof(
    order_id: PathId,
    proof_id: PathId,
    body: DismissIn,
    actor: Actor = Depends(staff("payments.record")),
    rt: Runtime = Depends(get_runtime),
) -> Any:
    """The money is not there: the customer reads that the shop did not confirm this proof, with
    the reason, and may send another."""

    def dismiss(session, order):
        proof = proofs.access_proof(session, order, proof_id, lock=True)
        proofs.do_dismiss_proof(session, actor, order, proof, body.reason)
        return _with_order(rt, actor, proof_id)(session, order)

    return _change(rt, actor, order_id, dismiss)
