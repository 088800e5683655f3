"""A one-time code by SMS lets a device prove it holds the phone it typed (``claims.py``).

The code goes to the number of the customer who has that phone (the one the device claims to be,
or its own when it was the first to type that number), so only whoever holds the phone can read
it. A device that proves it is vouched for, and the customer's devices nobody vouched for are
revoked (``claims.do_prove_device``). Six digits, stored as a keyed hash, good for ten minutes and five tries; a newer code
replaces an older one, and asking is rate-limited per device and per phone (``claims_api.py``), so
guessing stays hopeless. The right code links the device exactly as staff would.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shangliao.auth.actor import Actor
from shangliao.chat.models import Conversation
from shangliao.core import clock
from shangliao.core.crypto import Keyring
from shangliao.core.errors import Conflict, Invalid, ShangliaoError, TooManyRequests
from shangliao.core.i18n import N_
from shangliao.customers.models import Customer, CustomerPhone
from shangliao.customers.pii import decrypt_phone
from shangliao.storefront import claims
from shangliao.storefront.claims import Claim, do_link_claim, do_prove_device, stale_claim
from shangliao.storefront.models import PhoneCode
from shangliao.storefront.visitors import Guest

CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
TEXT = N_("{shop}: your code is {code}. It is good for 10 minutes. Did not ask for it? Ignore this message.")


def code_target(session: Session, guest: Guest) -> Claim | None:
    """Whose phone a code for this device goes to: the customer it claims to be (``claims.py``),
    or, for a device nobody vouched for yet, its own customer's number (the one it introduced
    itself with): a first comer who typed a number nobody had proves it this way, and keeps it.
    None when there is nothing to prove (vouched for already, or the claimed phone is nobody's)."""
    if guest.claimed:
        return claims.device_claim(session, guest.shop_id, guest.visitor_id, guest.customer_id)
    if guest.verified:
        return None
    row = session.execute(
        select(CustomerPhone.phone_hash, Customer.name, CustomerPhone.phone_enc)
        .join(Customer, Customer.id == CustomerPhone.customer_id)
        .where(CustomerPhone.shop_id == guest.shop_id, CustomerPhone.customer_id == guest.customer_id)
        .order_by(CustomerPhone.id)
        .limit(1)
    ).first()
    return None if row is None else Claim(bytes(row[0]), guest.customer_id, row[1], row[2])


def _code_hash(keyring: Keyring, visitor_id: int, code: str) -> bytes:
    return keyring.lookup_hash(f"{visitor_id}:{code}", "phone_code")


def _code_hashes(keyring: Keyring, visitor_id: int, code: str) -> tuple[bytes, ...]:
    """:func:`_code_hash` under every key of the ring: a code sent just before a new key was made
    is still good."""
    return keyring.lookup_hashes(f"{visitor_id}:{code}", "phone_code")


def do_issue_code(session: Session, keyring: Keyring, guest: Guest, claim: Claim) -> tuple[str, str]:
    """A fresh code for the device (its earlier ones void); returns ``(phone, code)`` to send once
    the unit has committed (rule 2 of docs/architecture.md)."""
    code = f"{secrets.randbelow(10**6):06d}"
    session.execute(
        delete(PhoneCode).where(PhoneCode.shop_id == guest.shop_id, PhoneCode.visitor_id == guest.visitor_id)
    )
    now = clock.now()
    session.add(
        PhoneCode(
            shop_id=guest.shop_id,
            visitor_id=guest.visitor_id,
            customer_id=claim.customer_id,
            phone_hash=claim.phone_hash,
            code_hash=_code_hash(keyring, guest.visitor_id, code),
            expires_at=now + CODE_TTL,
            created_at=now,
        )
    )
    session.flush()
    return decrypt_phone(keyring, claim.phone_enc), code


@dataclass(frozen=True)
class Checked:
    """A code checked: the conversation the device now writes to, or why not (``refused``, to
    raise after the unit commits: a wrong try is counted even though it is refused)."""

    conversation: Conversation | None
    refused: ShangliaoError | None


def do_check_code(session: Session, keyring: Keyring, guest: Guest, code: str, timezone: str) -> Checked:
    """Link the device if ``code`` is its current one (see the module's docstring)."""
    row = session.scalar(
        select(PhoneCode)
        .where(
            PhoneCode.shop_id == guest.shop_id,
            PhoneCode.visitor_id == guest.visitor_id,
            PhoneCode.used_at.is_(None),
        )
        .order_by(PhoneCode.id.desc())
        .limit(1)
        .with_for_update()
    )
    if row is None:
        raise Conflict("sms.no_code", N_("Ask for a code first."))
    if row.attempts >= MAX_ATTEMPTS:
        raise TooManyRequests(
            "sms.code_locked", N_("Too many wrong codes. Ask for a new one."), retry_after=60
        )
    if row.expires_at <= clock.now():
        raise Conflict("sms.code_expired", N_("This code has expired. Ask for a new one."))
    if not any(hmac.compare_digest(row.code_hash, h) for h in _code_hashes(keyring, guest.visitor_id, code)):
        row.attempts += 1
        left = MAX_ATTEMPTS - row.attempts
        return Checked(
            None,
            Invalid(
                "sms.code_wrong", N_("Wrong code. {left} tries left."), details={"left": left}, left=left
            ),
        )
    claim = code_target(session, guest)
    if claim is None or claim.customer_id != row.customer_id or claim.phone_hash != row.phone_hash:
        raise stale_claim()  # the phone changed hands since the code went out
    row.used_at = clock.now()
    if claim.customer_id == guest.customer_id:  # its own number: nothing to merge
        do_prove_device(session, guest.shop_id, guest.customer_id, guest.visitor_id)
        return Checked(session.get(Conversation, guest.conversation_id), None)
    actor = Actor.customer(guest.shop_id, guest.customer_id, timezone)
    kept = do_link_claim(
        session, keyring, actor, guest.customer_id, claim, how="code", device=guest.visitor_id
    )
    return Checked(kept, None)
