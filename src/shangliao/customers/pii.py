"""Customer PII at rest (rule 12 of docs/architecture.md): phones and addresses encrypted, phones found by keyed hash.

Shared by the customers and orders domains so an order's address snapshot is encrypted exactly like
an address in the customer's book. Every ciphertext is bound (AES-GCM associated data) to the table
it lives in: a blob copied into another table fails to decrypt instead of leaking there.

Nothing here logs, and none of these values may ever travel in a URL: searches by phone go in a
request body.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from shangliao.core.crypto import Key, Keyring
from shangliao.core.errors import Invalid
from shangliao.core.phones import mask_mobile, normalize_mobile
from shangliao.core.schemas import StrictModel

PHONE_CONTEXT = b"customer_phones.phone_enc"
CUSTOMER_ADDRESSES = "customer_addresses"
ORDERS = "orders"

# What a search box may hold when it means a phone: digits, spaces, dashes, a leading "+".
_PHONE_LIKE = re.compile(r"^\+?[\d\s-]{7,20}$")
_LAST4 = re.compile(r"^\d{4}$")


def check_mobile(raw: str, *, field: str = "phone") -> str:
    """Normalise a mainland mobile; the refusal names the field (never logged, never in a URL)."""
    try:
        return normalize_mobile(raw)
    except Invalid as exc:
        exc.details = {**exc.details, "field": field}
        raise


# A mobile as typed ("+86 138-1234-5678"), normalised to 11 digits on the way in.
Mobile = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32), AfterValidator(check_mobile)]


# --- phones ---------------------------------------------------------------------------------------


def encrypt_phone(keyring: Keyring, phone: str) -> bytes:
    return keyring.encrypt(phone.encode(), PHONE_CONTEXT)


def decrypt_phone(keyring: Keyring, blob: bytes) -> str:
    return keyring.decrypt(blob, PHONE_CONTEXT).decode()


def phone_hashes(keyring: Keyring, phone: str, key: Key | None = None) -> tuple[bytes, bytes]:
    """``(full_hash, last4_hash)`` of a normalised mobile, for equality search without decrypting
    (under the ring's current key unless ``key`` says otherwise)."""
    return keyring.lookup_hash(phone, "phone", key), keyring.lookup_hash(phone[-4:], "phone4", key)


def phone_lookups(keyring: Keyring, phone: str) -> tuple[bytes, ...]:
    """The full hash of a normalised mobile under every key of the ring: what finds a row still
    carrying an older key's hash while ``shangliao keys rotate`` runs (``core/keys_rotate.py``)."""
    return keyring.lookup_hashes(phone, "phone")


def phone_search(keyring: Keyring, text: str) -> tuple[str, tuple[bytes, ...]] | None:
    """What a search text means for phones.

    ``("full", hashes)`` for a whole mainland mobile, ``("last4", hashes)`` for exactly four
    digits (one hash per key of the ring, current first), ``None`` when it is not a phone (search
    names instead).
    """
    text = text.strip()
    if _LAST4.match(text):
        return "last4", keyring.lookup_hashes(text, "phone4")
    if _PHONE_LIKE.match(text):
        try:
            return "full", phone_lookups(keyring, normalize_mobile(text))
        except Invalid:
            return None
    return None


# --- addresses ------------------------------------------------------------------------------------


class Address(StrictModel):
    """A delivery address: who receives it, their mobile, the region and the street detail."""

    receiver: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    phone: Mobile
    province: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    city: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    # Empty for places without a district level (东莞市, 中山市 …).
    district: Annotated[str, StringConstraints(max_length=32)] = ""
    detail: Annotated[str, StringConstraints(min_length=1, max_length=200)]


ADDRESS_FIELDS = tuple(Address.model_fields)


def address_context(table: str) -> bytes:
    """The associated data an address blob stored in ``table`` is bound to."""
    return f"{table}.address".encode()


def encrypt_address(keyring: Keyring, address: Address, *, table: str = ORDERS) -> bytes:
    """Encrypt for storage in ``table`` (an order's snapshot by default, ``CUSTOMER_ADDRESSES``…)."""
    return keyring.encrypt_json(address.model_dump(include=set(ADDRESS_FIELDS)), address_context(table))


def decrypt_address(keyring: Keyring, blob: bytes, *, table: str = ORDERS) -> Address:
    """Decrypt a blob stored in ``table``; raises ``cryptography.exceptions.InvalidTag`` otherwise.

    Built without re-validating: the address was checked when written, and a rule tightened later
    must not make old orders unreadable.
    """
    return Address.model_construct(**address_dict(keyring, blob, table=table))


def address_dict(keyring: Keyring, blob: bytes, *, table: str = ORDERS) -> dict[str, str]:
    """:func:`decrypt_address` as a plain dict, for answers that only serialize it (no model)."""
    data = keyring.decrypt_json(blob, address_context(table))
    return {name: data.get(name, "") for name in ADDRESS_FIELDS}


def region_parts(province: str, city: str, district: str) -> list[str]:
    """Province, city and district as they are read out: a municipality is its own city
    (上海市 上海市), so it is named once; empty parts left out."""
    return [p for p in (province, city if city != province else "", district) if p]


def public_address(full: dict[str, str]) -> dict[str, str]:
    """Who and which city it goes to, enough to recognise it: what a customer's device is shown. The
    street and the full number stay with the shop (a device is trusted on a typed phone number, so a
    stranger who typed the customer's must not read where they live)."""
    return {
        "receiver": full["receiver"],
        "phone": mask_mobile(full["phone"]),
        "region": " ".join(region_parts(full["province"], full["city"], full["district"])),
    }
