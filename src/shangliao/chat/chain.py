"""Each conversation's hash chain, its signed checkpoints, and the check that finds any break.

A message's ``hash`` is SHA-256 over the previous message's hash and this message's content in
one canonical encoding. Changing, removing or inserting a message breaks every later link, so a
forger would have to recompute the rest of the chain; the checkpoints stop that: every
:data:`CHECKPOINT_EVERY` messages the chain head is signed with HMAC under a key that lives in the
key file, not in the database. A rewritten history cannot match a checkpoint made before it.

Recalling a message appends a ``recall`` entry naming it, so a ``recalled_at`` set by hand (to
hide a message) shows up as a recall without its entry.

A conversation deleted whole takes its checkpoints with it, so each shop also has a signed list of
its conversations and their heads (``ChainManifest``, :func:`manifest_signature`): a listed
conversation that is gone, or whose history ends before its listed head, is a break too.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from shangliao.core.crypto import Keyring
from shangliao.core.i18n import N_

GENESIS = bytes(32)  # the "previous hash" of a conversation's first message
CHECKPOINT_EVERY = 50


def _moment(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def content_bytes(message: Any) -> bytes:
    """What the chain covers: everything a message says, who said it, where and when."""
    return orjson.dumps(
        [
            message.conversation_id,
            message.seq,
            message.kind,
            message.sender_type,
            message.sender_id,
            message.client_id,
            message.body,
            message.data,
            _moment(message.created_at),
        ],
        option=orjson.OPT_SORT_KEYS,
    )


def link(previous: bytes, message: Any) -> bytes:
    return hashlib.sha256(previous + content_bytes(message)).digest()


def checkpoint_message(shop_id: int, conversation_id: int, seq: int, head: bytes) -> bytes:
    """What a checkpoint signs. Verified under any key of the ring (signed by the current one);
    ``shangliao keys rotate`` re-signs what an older key signed (``core/keys_rotate.py``)."""
    return b"chat-chain:%d:%d:%d:" % (shop_id, conversation_id, seq) + head


def checkpoint_signature(
    keyring: Keyring, shop_id: int, conversation_id: int, seq: int, head: bytes
) -> bytes:
    return keyring.sign(checkpoint_message(shop_id, conversation_id, seq, head))


def manifest_message(shop_id: int, generation: int, heads: list[list[Any]]) -> bytes:
    """What a shop's list of ``[conversation_id, seq, hash hex]`` signs, in its stored order."""
    return b"chat-manifest:%d:%d:" % (shop_id, generation) + orjson.dumps(heads)


def manifest_signature(keyring: Keyring, shop_id: int, generation: int, heads: list[list[Any]]) -> bytes:
    return keyring.sign(manifest_message(shop_id, generation, heads))


@dataclass(frozen=True)
class Break:
    """One thing ``verify`` found wrong; ``problem`` is an ``N_`` message, translated when shown.
    ``conversation_id`` is None for a break of the shop's signed list itself."""

    conversation_id: int | None
    seq: int | None
    problem: str
    shop_id: int | None = None


def verify_conversation(
    keyring: Keyring,
    shop_id: int,
    conversation_id: int,
    messages: Iterable[Any],
    checkpoints: Iterable[Any],
    listed: tuple[int, str] | None = None,
) -> list[Break]:
    """Walk the chain in ``seq`` order; check every link, every checkpoint and every recall, and
    the head ``(seq, hash hex)`` the shop's signed list gives it (already checked signature)."""
    breaks: list[Break] = []
    heads: dict[int, bytes] = {}
    recalls: set[int] = set()
    recalled: dict[int, int] = {}  # message id -> its seq, for messages marked recalled
    signed: set[int] = set()  # seqs a checkpoint vouches for
    previous, expected_seq = GENESIS, 1
    for m in messages:
        if m.seq != expected_seq:
            breaks.append(Break(conversation_id, expected_seq, N_("the message is missing")))
        expected_seq = m.seq + 1
        computed = link(previous, m)
        if not hmac.compare_digest(computed, m.hash):
            breaks.append(Break(conversation_id, m.seq, N_("content or order does not match its hash")))
        previous = m.hash  # keep walking from what is stored: one edit reports once
        heads[m.seq] = m.hash
        if m.kind == "recall":
            recalls.add(int(m.data.get("message_id", 0)))
        if m.recalled_at is not None:
            recalled[m.id] = m.seq
    for message_id, seq in recalled.items():
        if message_id not in recalls:
            breaks.append(Break(conversation_id, seq, N_("marked recalled without a recall entry")))
    for c in checkpoints:
        if not keyring.signed(checkpoint_message(shop_id, conversation_id, c.seq, c.hash), c.signature):
            breaks.append(Break(conversation_id, c.seq, N_("checkpoint signature is not valid")))
        elif c.seq not in heads:
            breaks.append(Break(conversation_id, c.seq, N_("a signed message is gone")))
        elif not hmac.compare_digest(heads[c.seq], c.hash):
            breaks.append(Break(conversation_id, c.seq, N_("history differs from the signed checkpoint")))
        signed.add(c.seq)
    # A head that a checkpoint signed as well was judged just above: one problem, one report.
    if listed is not None and listed[0] > 0 and listed[0] not in signed:
        seq, head = listed
        if seq not in heads:
            breaks.append(Break(conversation_id, seq, N_("a signed message is gone")))
        elif heads[seq].hex() != head:
            breaks.append(Break(conversation_id, seq, N_("history differs from the signed list")))
    return breaks
