"""显示 (查看完整号码): a deliberate read of one record's personal data in full, written to the audit
log and rate limited per member, so the log names who read whose number and cannot be turned into
a bulk scrape (docs/architecture.md, "Personal data on a need-to-know basis").

The audit row names the target and the fields read, never a value (``record_audit``'s rule).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shangliao.audit.log import record_audit
from shangliao.auth.actor import Actor
from shangliao.core.crypto import Keyring
from shangliao.customers import service as customers
from shangliao.customers.models import Customer
from shangliao.customers.pii import address_dict
from shangliao.orders.models import Order
from shangliao.web.rate_limits import RateLimits

REVEALED = "pii.revealed"
# Above a packer's pace (a label a minute), far below a scrape of the customer list.
REVEALS = "120/hour"


def check_reveal_rate(limits: RateLimits, actor: Actor) -> None:
    """Count one reveal of this member's (429 past :data:`REVEALS`). The route's access rule
    (``staff("customers.pii")``) refused everyone without the permission already."""
    limits.check(REVEALS, "reveal", str(actor.shop_id), str(actor.staff_id or 0))


def _record(session: Session, actor: Actor, target_type: str, target_id: int, fields: list[str]) -> None:
    record_audit(
        session,
        actor.shop_id,
        REVEALED,
        actor=actor,
        target_type=target_type,
        target_id=target_id,
        data={"fields": fields},
    )


def do_reveal_order(session: Session, keyring: Keyring, actor: Actor, order: Order) -> dict[str, Any]:
    """The order's delivery address in full (``None`` without one), recorded."""
    address = address_dict(keyring, order.address_enc) if order.address_enc else None
    _record(session, actor, "order", order.id, ["receiver", "phone", "detail"] if address else [])
    return {"address": address}


def do_reveal_customer(
    session: Session, keyring: Keyring, actor: Actor, customer: Customer
) -> dict[str, Any]:
    """The customer's phones and saved addresses in full, recorded."""
    out = customers.customer_out(keyring, customer)
    fields = (["phones"] if out.phones else []) + (["addresses"] if out.addresses else [])
    _record(session, actor, "customer", customer.id, fields)
    return {
        "phones": [p.model_dump() for p in out.phones],
        "addresses": [a.model_dump() for a in out.addresses],
    }
