"""Addresses a customer already gave, offered again: the ones saved on their record, and the one
they typed into the chat.

A draft made from a chat message starts without an address; the customer usually wrote it in the
conversation ("王小美 139… 浙江省杭州市西湖区文三路100号"), or gave it with an earlier order. The
console offers those as choices (``address_choices``), and an order placed from a product link
keeps its address on the customer's record (``do_remember_address``), once, so the next draft and
the next order form have it.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.addresses.smart_paste import parse_address
from shangliao.auth.actor import Actor
from shangliao.chat.models import Message
from shangliao.core.crypto import Keyring
from shangliao.customers import service as customers
from shangliao.customers.masking import FULL, PiiView
from shangliao.customers.pii import ADDRESS_FIELDS, Address
from shangliao.customers.schemas import MAX_ADDRESSES, AddressIn

# How far back in the conversation an address is looked for: the customer's latest messages.
RECENT_MESSAGES = 30


def same_address(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """The same delivery: receiver, phone, region and street, ignoring spaces and letter case."""

    def key(x: dict[str, Any]) -> tuple[str, ...]:
        return tuple("".join(str(x.get(f) or "").split()).lower() for f in ADDRESS_FIELDS)

    return key(a) == key(b)


def _saved(keyring: Keyring, customer) -> list[dict[str, Any]]:
    return [customers.address_out(keyring, row).model_dump() for row in customer.addresses]


def do_remember_address(
    session: Session, keyring: Keyring, actor: Actor, customer_id: int, address: Address
) -> bool:
    """Keep ``address`` on the customer's record unless an identical one is there already (or the
    book is full: it then stays on the order only). True when it was added."""
    customer = customers.access_customer(session, actor.shop_id, customer_id, lock=True)
    wanted = address.model_dump(include=set(ADDRESS_FIELDS))
    saved = _saved(keyring, customer)
    if any(same_address(wanted, s) for s in saved) or len(saved) >= MAX_ADDRESSES:
        return False
    customers.do_add_address(
        session, keyring, actor, customer, AddressIn.model_construct(**wanted, label="", is_default=False)
    )
    return True


def saved_addresses(
    session: Session, keyring: Keyring, shop_id: int, customer_id: int
) -> list[dict[str, Any]]:
    """The customer's saved addresses, the default first."""
    customer = customers.access_customer(session, shop_id, customer_id)
    return sorted(_saved(keyring, customer), key=lambda a: not a["is_default"])


def chat_address(session: Session, shop_id: int, conversation_id: int) -> dict[str, Any] | None:
    """The address in the customer's latest message that reads as a whole one (receiver, a valid
    mobile, province, city and street), newest first; None when no recent message does."""
    bodies = session.scalars(
        select(Message.body)
        .where(
            Message.shop_id == shop_id,
            Message.conversation_id == conversation_id,
            Message.sender_type == "customer",
            Message.kind == "text",
            Message.recalled_at.is_(None),
        )
        .order_by(Message.seq.desc())
        .limit(RECENT_MESSAGES)
    ).all()
    for body in bodies:
        # No mobile, no address worth offering: skip the parse for chit-chat.
        if sum(ch.isdigit() for ch in body or "") < 11:
            continue
        parsed = parse_address(body[:500])
        if parsed is None or parsed.phone_kind != "mobile":
            continue
        fields = {f: getattr(parsed, f) for f in ADDRESS_FIELDS}
        try:
            Address.model_validate(fields)
        except ValidationError:
            continue
        codes = {
            f"{level}_code": getattr(parsed, f"{level}_code") for level in ("province", "city", "district")
        }
        return {**fields, **codes}
    return None


def address_choices(
    session: Session,
    keyring: Keyring,
    shop_id: int,
    customer_id: int | None,
    conversation_id: int | None,
    view: PiiView = FULL,
) -> list[dict[str, Any]]:
    """What an order without the right address may take: the chat's address first (the freshest
    word of the customer), then the saved ones; an address saved already is not offered twice.

    A reader whose ``view`` masks gets the saved ones masked, each with its ``address_id``: the
    form sends the id and the server fills the address in (the chat's is the customer's own
    message, which that reader reads in the chat anyway)."""
    choices: list[dict[str, Any]] = []
    from_chat = chat_address(session, shop_id, conversation_id) if conversation_id else None
    if from_chat:
        choices.append(
            {"key": "chat", "kind": "chat", "label": "", "is_default": False, "address": from_chat}
        )
    if customer_id:
        for saved in saved_addresses(session, keyring, shop_id, customer_id):
            if from_chat and same_address(from_chat, saved):
                continue
            address = {f: saved[f] for f in ADDRESS_FIELDS}
            choices.append(
                {
                    "key": f"saved-{saved['id']}",
                    "kind": "saved",
                    "label": saved["label"],
                    "is_default": saved["is_default"],
                    "address": view.address(address),
                    "address_id": None if view.full else saved["id"],
                }
            )
    return choices
