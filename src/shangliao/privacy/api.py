"""``GET /customers/{id}/export`` and ``POST /customers/{id}/erase``: PIPL requests over the API.

Both belong to whoever runs the team (``team.manage``: the owner and admins) and also need
``customers.pii``, and the whole shop in scope: a copy of someone's data, or its erasure, is not
a task for a member who sees part of it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import Field

from shangliao.audit.log import record_audit
from shangliao.auth.access import check_permission, staff
from shangliao.auth.actor import Actor
from shangliao.core.errors import Forbidden
from shangliao.core.i18n import N_
from shangliao.core.schemas import PathId, StrictModel
from shangliao.privacy.erase import Erasure, Reason, do_erase_customer
from shangliao.privacy.export import customer_export
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.errors import ErrorBody
from shangliao.web.rate_limits import RateLimits

router = APIRouter(prefix="/customers", tags=["customers"])

EXPORTED = "customer.exported"
# Per member, like a reveal (customers/reveal.py): a few data-subject requests a day, each maybe
# downloaded as HTML and JSON, fit easily; walking the customer list through copies does not.
EXPORTS = "30/hour"
# A copy of someone's whole file: no shared cache or browser history keeps it.
NO_STORE = {"Cache-Control": "private, no-store"}


def check_privacy_officer(actor: Actor) -> Actor:
    """``team.manage`` is checked by the route's declaration; this adds the rest, before any unit."""
    check_permission(actor, "customers.pii")
    if actor.limited:
        raise Forbidden(
            "privacy.whole_shop_only",
            N_("Only a member who sees the whole shop can export or erase a customer's data."),
        )
    return actor


def privacy_officer(actor: Actor = Depends(staff("team.manage"))) -> Actor:
    return check_privacy_officer(actor)


def check_export_rate(limits: RateLimits, actor: Actor) -> None:
    """Count one export of this member's (429 past :data:`EXPORTS`), before anything is read."""
    limits.check(EXPORTS, "export", str(actor.shop_id), str(actor.staff_id or 0))


def export_for(rt: Runtime, actor: Actor, customer_id: int, *, as_format: str) -> dict[str, Any]:
    """Read the customer's data, then record that it was handed out (one unit each: the read
    never holds the writer). Shared by the API and the console's downloads, so both count
    against one limit."""
    check_export_rate(rt.limits, actor)
    with rt.db.read() as session:
        data = customer_export(session, rt.keyring, actor.shop_id, customer_id)
    with rt.db.write() as session:
        record_audit(
            session,
            actor.shop_id,
            EXPORTED,
            actor=actor,
            target_type="customer",
            target_id=customer_id,
            data={"format": as_format},
        )
    return data


class EraseIn(StrictModel):
    confirm: str = Field(max_length=64, description="The customer's name exactly as stored, or 删除.")
    reason: Reason = Field(
        description="Why: the customer asked, withdrew consent, or the data is no longer needed."
    )


@router.get(
    "/{customer_id}/export",
    responses={429: {"model": ErrorBody, "description": "Too many exports; see Retry-After"}},
)
def export_customer(
    customer_id: PathId, actor: Actor = Depends(privacy_officer), rt: Runtime = Depends(get_runtime)
):
    """Everything the shop holds about the customer (PIPL art. 45), as JSON: profile, phones,
    addresses, orders with items, amounts and timeline, conversations with messages and attachment
    metadata, shop-page devices. Recorded in the audit log as `customer.exported`; limited per
    member per hour (429 `rate.limited`), counted with the console's downloads."""
    return JSONResponse(export_for(rt, actor, customer_id, as_format="json"), headers=NO_STORE)


@router.post("/{customer_id}/erase")
def erase_customer(
    customer_id: PathId,
    body: EraseIn,
    actor: Actor = Depends(privacy_officer),
    rt: Runtime = Depends(get_runtime),
) -> Erasure:
    """Anonymise the customer everywhere (PIPL art. 47); amounts, items, statuses, the timeline's
    entries and the chat history stay. Refused (409 `privacy.open_orders`) while an order is
    between pending and shipped. Repeating it is harmless. Recorded as `customer.erased`."""
    with rt.db.write() as session:
        return do_erase_customer(session, actor, customer_id, confirm=body.confirm, reason=body.reason)
