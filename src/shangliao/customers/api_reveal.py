"""HTTP routes for 显示: one order's or one customer's personal data in full, audited
(customers/reveal.py). POST, because reading it is an act that is recorded."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.schemas import PathId
from shangliao.customers import service
from shangliao.customers.pii import Address
from shangliao.customers.reveal import check_reveal_rate, do_reveal_customer, do_reveal_order
from shangliao.customers.schemas import AddressOut, PhoneOut
from shangliao.orders.timeline import access_order
from shangliao.runtime import Runtime, get_runtime

router = APIRouter(tags=["customers"])


class OrderRevealed(BaseModel):
    address: Address | None


class CustomerRevealed(BaseModel):
    phones: list[PhoneOut]
    addresses: list[AddressOut]


@router.post("/orders/{order_id}/reveal", response_model=OrderRevealed)
def reveal_order(
    order_id: PathId, actor: Actor = Depends(staff("customers.pii")), rt: Runtime = Depends(get_runtime)
):
    """The order's receiver, phone and street in full; recorded in the audit log as
    `pii.revealed` (which fields, never the values), and limited per member per hour."""
    check_reveal_rate(rt.limits, actor)
    with rt.db.write() as session:
        order = access_order(session, actor, order_id)
        return do_reveal_order(session, rt.keyring, actor, order)


@router.post("/customers/{customer_id}/reveal", response_model=CustomerRevealed)
def reveal_customer(
    customer_id: PathId, actor: Actor = Depends(staff("customers.pii")), rt: Runtime = Depends(get_runtime)
):
    """The customer's phones and saved addresses in full; recorded like an order's reveal."""
    check_reveal_rate(rt.limits, actor)
    with rt.db.write() as session:
        customer = service.access_customer(session, actor.shop_id, customer_id)
        return do_reveal_customer(session, rt.keyring, actor, customer)
