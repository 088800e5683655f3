"""Personal data on a need-to-know basis: the one place that decides who sees a phone or an
address in full (docs/architecture.md, "Personal data on a need-to-know basis").

Values are masked where they are decrypted for output: a serializer asks :func:`view_for` for the
caller's :class:`PiiView` and passes every decrypted phone and address through it, instead of each
route testing the permission. Exports (a later issue) call :func:`mask_address` / :func:`mask_phone`
the same way.

- Without ``customers.pii``: a phone reads ``138****5678``, an address keeps its province, city and
  district, the receiver keeps the first character and the street detail is replaced by a mask.
- With ``customers.pii``: an API token (an integration printing labels) reads in full. A person
  in the console reads masked too, until they press 显示 (customers/reveal.py: audited, rate
  limited), except the address of an order waiting to ship for someone who may ship it (the
  packer writes the label from it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shangliao.auth.actor import Actor

PII = "customers.pii"
MASK = "****"
# An order in these statuses is being packed: its label needs the whole address.
TO_SHIP = frozenset({"confirmed", "preparing"})


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


def mask_email(email: str | None) -> str | None:
    """``zhangsan@qq.com`` → ``zh****@qq.com``: the mailbox's provider stays, the person does not."""
    if not email or "@" not in email:
        return MASK if email else email
    local, domain = email.rsplit("@", 1)
    return local[:2] + MASK + "@" + domain


def mask_tax_id(tax_id: str | None) -> str | None:
    """``91330106MA2AXXXX1Q`` → ``9133****1Q``: enough to tell two companies' ids apart."""
    if not tax_id:
        return tax_id
    return tax_id[:4] + MASK + tax_id[-2:]


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

    def email(self, email: str | None) -> str | None:
        return email if self.full else mask_email(email)

    def tax_id(self, tax_id: str | None) -> str | None:
        return tax_id if self.full else mask_tax_id(tax_id)


FULL = PiiView(full=True)
MASKED = PiiView(full=False)


def may_reveal(actor: Actor) -> bool:
    """Whether ``actor`` may read personal data in full at all (after 显示, or as a token)."""
    return PII in actor.permissions


def view_for(actor: Actor | None, *, to_ship: bool = False) -> PiiView:
    """The view of personal data an answer to ``actor`` is rendered with (see the module's rules);
    ``to_ship`` for an order waiting to ship. ``None`` (the system itself: jobs, the CLI) reads
    in full."""
    if actor is None:
        return FULL
    if not may_reveal(actor):
        return MASKED
    if actor.via == "token" or (to_ship and "orders.fulfil" in actor.permissions):
        return FULL
    return MASKED


def order_view(actor: Actor, status: str) -> PiiView:
    """:func:`view_for` one order in ``status``."""
    return view_for(actor, to_ship=status in TO_SHIP)


def form_address(view: PiiView, address: dict[str, Any] | None) -> dict[str, Any] | None:
    """What an address form is pre-filled with: the whole address for a reader who sees it, else
    only the region (the receiver, phone and street are typed anew, never sent masked and
    never saved back as a mask)."""
    if address is None or view.full:
        return address
    return {**address, "receiver": "", "phone": "", "detail": ""}
