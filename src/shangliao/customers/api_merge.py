"""``POST /customers/{id}/merge``: fold a duplicate customer into this one (see ``merge.py``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import Field

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.schemas import PathId, RowRef, StrictModel
from shangliao.customers import service
from shangliao.customers.masking import view_for
from shangliao.customers.merge import do_merge_customers
from shangliao.customers.schemas import CustomerOut
from shangliao.runtime import Runtime, get_runtime

router = APIRouter(prefix="/customers", tags=["customers"])


class MergeIn(StrictModel):
    other_id: RowRef = Field(description="The duplicate customer: merged into this one, then deleted.")
    version: int | None = Field(
        default=None, ge=1, description="This customer's version; a stale one is refused with 409."
    )
    other_version: int | None = Field(
        default=None, ge=1, description="The other customer's version; a stale one is refused with 409."
    )


@router.post("/{customer_id}/merge", response_model=CustomerOut)
def merge_customer(
    customer_id: PathId,
    body: MergeIn,
    actor: Actor = Depends(staff("customers.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Move the other customer's orders, phones, addresses, tags and note to this one, add up their
    order figures, keep the blacklist flag if either had it, and delete the other customer."""
    with rt.db.write() as session:
        keep = service.access_customer(session, actor.shop_id, customer_id)
        drop = service.access_customer(session, actor.shop_id, body.other_id)
        merged = do_merge_customers(
            session,
            rt.keyring,
            actor,
            keep,
            drop,
            keep_version=body.version,
            drop_version=body.other_version,
        )
        return service.customer_out(rt.keyring, merged, view_for(actor))
