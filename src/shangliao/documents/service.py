"""Printing, as the API and the console ask for it: check, read in one short read, draw with no
transaction open, then record who printed what in the audit log (a printed address is personal data
leaving the screen, like an export's).

Documents read personal data as exports do (exports/service.py): in full for a member holding
``customers.pii``, masked for everyone else. Each member prints at most ``PRINTS_PER_HOUR`` orders
(a slip or a pack each, whatever the requests that asked for them): three full batches of the bulk
bar, far above a packer's or a dispute's pace, far below a scrape of the shop's addresses. The
hour is asked before the drawing (the costly part) and charged only once the document is made, so
a print that fails costs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from shangliao.audit.log import record_audit
from shangliao.auth.access import check_permission
from shangliao.auth.actor import Actor
from shangliao.core.i18n import current_locale
from shangliao.customers.masking import FULL, MASKED, PiiView, may_reveal
from shangliao.documents import evidence, signing, slips
from shangliao.runtime import Runtime
from shangliao.shops.models import Shop

PRINTS_PER_HOUR = f"{3 * slips.MAX_SLIPS}/hour"  # orders
SLIPS_ACT = "documents.packing_slips"
EVIDENCE_ACT = "documents.evidence_pack"


def document_view(actor: Actor) -> PiiView:
    """How a document shows phones and addresses to ``actor``: as an export does."""
    return FULL if may_reveal(actor) else MASKED


def _printable(rt: Runtime, actor: Actor, orders: int) -> None:
    """429 when ``orders`` more would pass this member's hour: asked once the orders were found
    (a wrong id prints nothing and costs nothing), before the drawing, which is the costly part."""
    rt.limits.check(PRINTS_PER_HOUR, *_counter(actor), count=False, cost=orders)


def _charge(rt: Runtime, actor: Actor, orders: int) -> None:
    """``orders`` more for this member's hour, once their document is made (429 when prints made
    meanwhile took the hour: this one is then not handed out either)."""
    rt.limits.check(PRINTS_PER_HOUR, *_counter(actor), cost=orders)


def _counter(actor: Actor) -> tuple[str, ...]:
    return "documents", str(actor.shop_id), str(actor.staff_id or 0)


def _shop_name(session, shop_id: int) -> str:
    return session.scalar(select(Shop.name).where(Shop.id == shop_id)) or ""


def packing_slips(rt: Runtime, actor: Actor, order_ids: Sequence[int]) -> bytes:
    """The PDF of the orders' packing slips; an order the member may not see fails them all (404)."""
    check_permission(actor, "orders.read")  # a slip shows the order whole
    ids = slips.check_count(order_ids)
    locale, view = current_locale.get(), document_view(actor)
    with rt.db.read() as session:
        found = slips.slips_of(session, rt.keyring, actor, ids, view, locale)
        shop_name = _shop_name(session, actor.shop_id)
    _printable(rt, actor, len(ids))
    data = slips.render(found, shop_name=shop_name, timezone=actor.timezone, locale=locale)
    _charge(rt, actor, len(ids))
    with rt.db.write() as session:
        record_audit(
            session, actor.shop_id, SLIPS_ACT, actor=actor,
            target_type="order" if len(ids) == 1 else None, target_id=ids[0] if len(ids) == 1 else None,
            data={"order_ids": ids, "full": view.full},
        )  # fmt: skip
    return data


def evidence_pack(rt: Runtime, actor: Actor, order_id: int) -> signing.Pack:
    """One order's evidence pack, signed (documents/evidence.py says what it holds)."""
    check_permission(actor, "orders.read")
    locale, view = current_locale.get(), document_view(actor)
    with rt.db.read() as session:
        found = evidence.evidence_of(session, rt, actor, order_id, view, locale)
        shop_name = _shop_name(session, actor.shop_id)
    _printable(rt, actor, 1)
    data = evidence.render(found, shop_name=shop_name, timezone=actor.timezone, locale=locale)
    pack = signing.sign(rt.keyring, actor.shop_id, found.order_id, found.number, data)
    _charge(rt, actor, 1)
    with rt.db.write() as session:
        record_audit(
            session, actor.shop_id, EVIDENCE_ACT, actor=actor, target_type="order", target_id=found.order_id,
            data={"sha256": pack.sha256, "full": view.full},
        )  # fmt: skip
    return pack
