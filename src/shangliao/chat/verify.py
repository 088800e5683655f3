"""Walk every stored conversation's chain (``shangliao chat verify``) and sign chain heads
(``shangliao chat checkpoint``), a conversation at a time so memory stays flat.

An image or file message names its file's SHA-256 in its data, which the chain covers; given the
uploads folder, ``verify`` rehashes each stored file against it, so a swapped or deleted file is a
break like an edited message (the attachment's own row is not trusted: it can be rewritten too).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shangliao.chat import chain
from shangliao.chat.attachments import stored_path
from shangliao.chat.models import Attachment, ChainCheckpoint, Conversation, Message
from shangliao.core import clock
from shangliao.core.crypto import Keyring
from shangliao.core.i18n import N_
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
    db: Database,
    keyring: Keyring,
    shop_id: int | None = None,
    progress: Callable[[int], None] | None = None,
    *,
    uploads_dir: Path | None = None,
) -> list[chain.Break]:
    """Every break in every conversation (of one shop, when given); empty means intact. With
    ``uploads_dir`` (``Settings.uploads_dir``) every attachment's bytes are checked as well."""
    breaks: list[chain.Break] = []
    for done, (shop, conversation_id) in enumerate(_conversations(db, shop_id), 1):
        with db.read() as session:
            messages = list(
                session.scalars(
                    select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq)
                )
            )
            checkpoints = list(
                session.scalars(
                    select(ChainCheckpoint)
                    .where(ChainCheckpoint.conversation_id == conversation_id)
                    .order_by(ChainCheckpoint.seq)
                )
            )
            breaks += chain.verify_conversation(keyring, shop, conversation_id, messages, checkpoints)
            if uploads_dir is not None:
                breaks += _attachment_breaks(session, uploads_dir, conversation_id, messages)
        if progress is not None:
            progress(done)
    return breaks


def _attachment_breaks(
    session: Session, uploads_dir: Path, conversation_id: int, messages: Iterable[Any]
) -> list[chain.Break]:
    """Each image or file message whose stored file is gone or no longer has the bytes it was
    sent with."""
    files = [m for m in messages if m.kind in ("image", "file")]
    if not files:
        return []
    stored = {
        a.message_id: a
        for a in session.scalars(
            select(Attachment).where(
                Attachment.conversation_id == conversation_id, Attachment.message_id.is_not(None)
            )
        )
    }
    breaks = []
    for m in files:
        attachment = stored.get(m.id)
        path = stored_path(uploads_dir, attachment) if attachment is not None else None
        if path is None or not path.is_file() or attachment.id != m.data.get("attachment_id"):
            breaks.append(chain.Break(conversation_id, m.seq, N_("attachment missing")))
        elif _file_sha256(path) != m.data.get("sha256"):
            breaks.append(chain.Break(conversation_id, m.seq, N_("attachment changed")))
    return breaks


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


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
