"""Checks on the addresses order cards carry sealed (chat/card_keys.py)."""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shangliao.core.crypto import Keyring
from shangliao.customers.pii import ORDERS, address_context


def ring_opens(keyring: Keyring, blob: bytes) -> bool:
    """Whether any key of the ring decrypts a card blob, bound to the card's header, to the
    orders' context (what a copy of the order's blob is bound to) or to nothing."""
    head, nonce, body = blob[:9], blob[9:21], blob[21:]
    for key in keyring.keys:
        for context in (head, address_context(ORDERS), b""):
            try:
                AESGCM(key.encryption_key).decrypt(nonce, body, context)
            except InvalidTag:
                continue
            return True
    return False
