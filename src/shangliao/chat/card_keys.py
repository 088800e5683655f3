"""Per-conversation data keys for the addresses chat cards carry (envelope encryption).

A details card carries the order's delivery address sealed, and the conversation's hash chain
covers the card byte for byte (``chat/chain.py``): the sealed blob can never be rewritten. So it is
not sealed under the key ring but under a random 256-bit key of its conversation, stored wrapped
(encrypted by the ring's current key, bound to ``conversation_keys.wrapped`` and the conversation
id) in ``conversation_keys``. Then:

- ``shangliao keys rotate`` re-wraps the small table, and a master key can be retired even though
  the chain's card blobs never change (``core/keys_rotate.py``);
- erasing a customer empties their conversations' wrapped keys (crypto-shredding): the cards'
  addresses are unreadable for good, while ``shangliao chat verify`` still passes.

Card blob format (rule 12: every ciphertext names its key): ``\\x03`` + conversation id (8 bytes,
big-endian) + nonce (12) + AES-GCM under the data key, the first 9 bytes bound as associated data.
The key ring's own formats are ``\\x01`` and ``\\x02`` (``core/crypto.py``); cards sealed before
data keys existed carry those, still open with the ring and keep pinning their master key.
"""

from __future__ import annotations

import os
import struct
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import update
from sqlalchemy.orm import Session

from shangliao.chat.models import ConversationKey
from shangliao.chat.service import lock_conversation
from shangliao.core import clock
from shangliao.core.crypto import Keyring

CARD_BLOB = b"\x03"
_HEAD = struct.Struct(">Q")
_HEAD_BYTES = 1 + _HEAD.size
_NONCE = 12
DATA_KEY_BYTES = 32
WRAPPED_LABEL = "conversation_keys.wrapped"


def wrap_context(conversation_id: int) -> bytes:
    """What a wrapped key is bound to: copied to another conversation's row, it does not open."""
    return f"{WRAPPED_LABEL}:{conversation_id}".encode()


def is_card_blob(blob: bytes) -> bool:
    return blob[:1] == CARD_BLOB


def conversation_of(blob: bytes) -> int:
    return _HEAD.unpack_from(blob, 1)[0]


# Unwrapping is cached by the wrapped bytes, never by conversation: every open still reads the row
# (``session.get``: once per session, from the identity map after that), so an erasure committed
# by any process is seen at once, while an inbox of 100 cards unwraps its key once per process.
@lru_cache(maxsize=4096)
def _unwrap(keyring: Keyring, wrapped: bytes, conversation_id: int) -> bytes:
    return keyring.decrypt(wrapped, wrap_context(conversation_id))


def _sealing_key(session: Session, keyring: Keyring, shop_id: int, conversation_id: int) -> bytes:
    """The conversation's data key, made (and stored wrapped) on its first card; after an erasure
    a fresh one, so later cards open while the earlier ones stay erased."""
    row = session.get(ConversationKey, conversation_id)
    if row is None or row.wrapped is None:
        # Two first cards at once must not both make a key: the second waits, then finds the first's.
        lock_conversation(session, shop_id, conversation_id)
        row = session.get(ConversationKey, conversation_id, populate_existing=True)
    if row is not None and row.wrapped is not None:
        return _unwrap(keyring, bytes(row.wrapped), conversation_id)
    fresh = os.urandom(DATA_KEY_BYTES)
    wrapped = keyring.encrypt(fresh, wrap_context(conversation_id))
    if row is None:
        session.add(ConversationKey(id=conversation_id, shop_id=shop_id, wrapped=wrapped))
    else:
        row.wrapped = wrapped
    session.flush()
    return fresh


def seal(session: Session, keyring: Keyring, shop_id: int, conversation_id: int, plaintext: bytes) -> bytes:
    """``plaintext`` sealed under the conversation's data key, in the card blob format."""
    key = _sealing_key(session, keyring, shop_id, conversation_id)
    head = CARD_BLOB + _HEAD.pack(conversation_id)
    nonce = os.urandom(_NONCE)
    return head + nonce + AESGCM(key).encrypt(nonce, plaintext, head)


def open_blob(session: Session, keyring: Keyring, blob: bytes) -> bytes | None:
    """The plaintext of a card blob, or ``None`` once its conversation's key was erased."""
    conversation_id = conversation_of(blob)
    row = session.get(ConversationKey, conversation_id)
    if row is None or row.wrapped is None:
        return None
    key = _unwrap(keyring, bytes(row.wrapped), conversation_id)
    head, nonce = blob[:_HEAD_BYTES], blob[_HEAD_BYTES : _HEAD_BYTES + _NONCE]
    try:
        return AESGCM(key).decrypt(nonce, blob[_HEAD_BYTES + _NONCE :], head)
    except InvalidTag:
        return None  # sealed under a key erased since (the conversation has a fresh one now)


def erase(session: Session, shop_id: int, conversation_ids: list[int]) -> int:
    """Forget the data keys of these conversations (crypto-shredding): every address their cards
    carry becomes unreadable. Returns how many keys were erased."""
    if not conversation_ids:
        return 0
    erased = session.execute(
        update(ConversationKey)
        .where(
            ConversationKey.shop_id == shop_id,
            ConversationKey.id.in_(conversation_ids),
            ConversationKey.wrapped.is_not(None),
        )
        .values(wrapped=None, erased_at=clock.now())
        .execution_options(synchronize_session="fetch")
    ).rowcount
    _unwrap.cache_clear()  # this process no longer holds them either
    return erased
