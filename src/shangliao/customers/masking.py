"""Personal data on a need-to-know basis: the one place that decides who sees a phone or an
address in full (docs/architecture.md, "Personal data on a need-to-know basis").

Values are masked where they are decrypted for output: a serializer asks :func:`view_for` for the
caller's :class:`PiiView` and passes every decrypted phone and address through it, instead of each
route testing the permission. Exports (a later issue) call :func:`mask_address` / :func:`mask_phone`
the same way.

- Without ``customers.pii``: a phone reads ``138****5678``, an address keeps its province, city and
  district, the receiver keeps the first character and the street detail is replaced by a mask.
- With ``customers.pii``: a record's own answer (an order, a customer, their forms) is read in
  full, because the job needs it (packing, calling, correcting an address); lists and glance
  surfaces stay masked for everyone (the customer list, socket frames, chat cards as the
  customer's device shows them), and 显示 there reveals one record through ``customers/reveal.py``,
  audited and rate limited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shangliao.auth.actor import Actor

PII = "customers.pii"
MASK = "****"


def mask_phone(phone: str | None) -> str | None:
    """``13812345678`` → ``138****5678``; anything shorter than a mobile hides all but its last
    two digits (a landline or an odd stored value must not pass through whole)."""
    if not phone:
        return phone
    if len(phone) >= 11:
        return phone[:3] + MASK + phone[-4:]
    return MASK + phone[-2:] if len(phone) > 4 else MASK


def mask_name(name: str | None) -> str | None:
    """``张三丰`` → ``张*``: enough to recognise whom a parcel is for."""
    if not name:
        return name
    return name[0] + "*"


def mask_address(address: dict[str, Any] | None) -> dict[str, Any] | None:
    """An address (``Address`` fields, plus any others kept as they are) with the receiver, the
    phone and the street detail masked; province, city and district stay."""
    if address is None:
        return None
    out = dict(address)
    out["receiver"] = mask_name(address.get("receiver"))
    out["phone"] = mask_phone(address.get("phone"))
    if address.get("detail"):
        out["detail"] = MASK
    return out


def is_masked_address(address: dict[str, Any] | None) -> bool:
    """True for an address that came out of :func:`mask_address`: a form must not save it back."""
    return bool(address) and address.get("detail") == MASK


@dataclass(frozen=True)
class PiiView:
    """How one caller reads personal data: ``full`` or masked."""

    full: bool

    def phone(self, phone: str | None) -> str | None:
        return phone if self.full else mask_phone(phone)

    def name(self, name: str | None) -> str | None:
        return name if self.full else mask_name(name)

    def address(self, address: dict[str, Any] | None) -> dict[str, Any] | None:
        return address if self.full else mask_address(address)


FULL = PiiView(full=True)
MASKED = PiiView(full=False)


def may_reveal(actor: Actor) -> bool:
    """Whether ``actor`` may read personal data in full at all (after 显示, or as a token)."""
    return PII in actor.permissions


def view_for(actor: Actor | None) -> PiiView:
    """The view of personal data a record's answer to ``actor`` is rendered with: in full only
    with ``customers.pii``. ``None`` (the system itself: jobs, the CLI) reads in full."""
    if actor is None:
        return FULL
    return FULL if may_reveal(actor) else MASKED


def form_address(view: PiiView, address: dict[str, Any] | None) -> dict[str, Any] | None:
    """What an address form is pre-filled with: the whole address for a reader who sees it, else
    only the region (the receiver, phone and street are typed anew, never sent masked and
    never saved back as a mask)."""
    if address is None or view.full:
        return address
    return {**address, "receiver": "", "phone": "", "detail": ""}
