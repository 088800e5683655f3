"""Walk every stored conversation's chain (``shangliao chat verify``) and sign chain heads
(``shangliao chat checkpoint``), a conversation at a time so memory stays flat."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from sqlalchemy import func, select

from shangliao.chat import chain
from shangliao.chat.models import ChainCheckpoint, Conversation, Message
from shangliao.core import clock
from shangliao.core.crypto import Keyring
from shangliao.storage.database import Database


def _conversations(db: Database, shop_id: int | None) -> Iterator[tuple[int, int]]:
    """(shop id, conversation id) in id order, read a chunk at a time."""
    after = 0
    while True:
        stmt = select(Conversation.shop_id, Conversation.id).where(Conversation.id > after)
        if shop_id is not None:
            stmt = stmt.where(Conversation.shop_id == shop_id)
        with db.read() as session:
            chunk = session.execute(stmt.order_by(Conversation.id).limit(500)).all()
        if not chunk:
            return
        yield from ((s, c) for s, c in chunk)
        after = chunk[-1][1]


def verify(
    db: Database, keyring: Keyring, shop_id: int | None = None, progress: Callable[[int], None] | None = None
) -> list[chain.Break]:
    """Every break in every conversation (of one shop, when given); empty means intact."""
    breaks: list[chain.Break] = []
    for done, (shop, conversation_id) in enumerate(_conversations(db, shop_id), 1):
        with db.read() as session:
            messages = session.scalars(
                select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq)
            )
            checkpoints = list(
                session.scalars(
                    select(ChainCheckpoint)
                    .where(ChainCheckpoint.conversation_id == conversation_id)
                    .order_by(ChainCheckpoint.seq)
                )
            )
            breaks += chain.verify_conversation(keyring, shop, conversation_id, messages, checkpoints)
        if progress is not None:
            progress(done)
    return breaks


def sign_heads(db: Database, keyring: Keyring, shop_id: int | None = None) -> int:
    """Checkpoint each conversation whose head moved since its last checkpoint; returns how many.

    Sending signs every ``CHECKPOINT_EVERY`` messages; this covers the quiet tails in between (run
    it from cron, hourly say), so a deleted or rewritten recent message is caught as well.
    """
    signed = 0
    for shop, conversation_id in _conversations(db, shop_id):
        with db.write() as session:
            last_signed = session.scalar(
                select(func.max(ChainCheckpoint.seq)).where(
                    ChainCheckpoint.conversation_id == conversation_id
                )
            )
            head = session.execute(
                select(Message.seq, Message.hash)
                .where(Message.conversation_id == conversation_id)
                .order_by(Message.seq.desc())
                .limit(1)
            ).first()
            if head is None or (last_signed or 0) >= head.seq:
                continue
            session.add(
                ChainCheckpoint(
                    shop_id=shop,
                    conversation_id=conversation_id,
                    seq=head.seq,
                    hash=head.hash,
                    signature=chain.checkpoint_signature(keyring, shop, conversation_id, head.seq, head.hash),
                    created_at=clock.now(),
                )
            )
            signed += 1
    return signed
