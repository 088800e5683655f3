"""Walk every stored conversation's chain (``shangliao chat verify``) and sign chain heads
(``shangliao chat checkpoint``), a conversation at a time so memory stays flat (and a shop's signed
list of conversations at a time: what is listed and no longer stored is reported gone).

An image or file message names its file's SHA-256 in its data, which the chain covers; given the
uploads folder, ``verify`` rehashes each stored file against it, so a swapped or deleted file is a
break like an edited message (the attachment's own row is not trusted: it can be rewritten too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shangliao.chat import chain, generations
from shangliao.chat.attachments import stored_path
from shangliao.chat.models import Attachment, ChainCheckpoint, ChainManifest, Conversation, Message
from shangliao.core import clock
from shangliao.core.crypto import Keyring
from shangliao.core.digests import file_sha256
from shangliao.core.i18n import N_
from shangliao.shops.models import Shop
from shangliao.storage.database import Database


def _shops(db: Database, shop_id: int | None) -> list[int]:
    if shop_id is not None:
        return [shop_id]
    with db.read() as session:
        return list(session.scalars(select(Shop.id).order_by(Shop.id)))


def _conversations(db: Database, shop_id: int) -> Iterator[int]:
    """The shop's conversation ids in order, read a chunk at a time."""
    after = 0
    while True:
        stmt = select(Conversation.id).where(Conversation.shop_id == shop_id, Conversation.id > after)
        with db.read() as session:
            chunk = list(session.scalars(stmt.order_by(Conversation.id).limit(500)))
        if not chunk:
            return
        yield from chunk
        after = chunk[-1]


def listed_heads(
    session: Session, keyring: Keyring, shop_id: int, recorded: int | None
) -> tuple[dict[int, tuple[int, str]], list[chain.Break]]:
    """The shop's signed list as ``{conversation id: (seq, hash hex)}``; a list whose signature
    fails is reported and not used (nothing in it can be trusted).

    ``recorded`` is the generation last signed, as kept outside the database (None when nothing
    was recorded there). A list older than that was put back from a copy; no list at all where one
    was recorded was deleted. Both are breaks. With nothing recorded a missing list is no break:
    sending signs a checkpoint every ``CHECKPOINT_EVERY`` messages on its own, so checkpoints
    alone cannot tell a deleted list from a shop whose first checkpoint run is still to come."""
    manifest = session.execute(
        select(ChainManifest.generation, ChainManifest.heads, ChainManifest.signature).where(
            ChainManifest.shop_id == shop_id
        )
    ).first()
    if manifest is None:
        if recorded is not None:
            return {}, [chain.Break(None, None, N_("the signed list of conversations is missing"), shop_id)]
        return {}, []
    signed = chain.manifest_message(shop_id, manifest.generation, manifest.heads)
    if not keyring.signed(signed, manifest.signature):
        return {}, [chain.Break(None, None, N_("the signed list of conversations is not valid"), shop_id)]
    listed = {int(cid): (int(seq), str(head)) for cid, seq, head in manifest.heads}
    if recorded is not None and manifest.generation < recorded:
        # Still checked against (what it lists was there once), but it is not the last word.
        return listed, [
            chain.Break(
                None, None, N_("the signed list of conversations is older than the last one signed"), shop_id
            )
        ]
    return listed, []


def verify(
    db: Database,
    keyring: Keyring,
    shop_id: int | None = None,
    progress: Callable[[int], None] | None = None,
    *,
    uploads_dir: Path | None = None,
    generations_file: Path | None = None,
) -> list[chain.Break]:
    """Every break in every conversation (of one shop, when given); empty means intact. With
    ``uploads_dir`` (``Settings.uploads_dir``) every attachment's bytes are checked as well; with
    ``generations_file`` (written by :func:`sign_heads`) a list older than the last one signed,
    or deleted, is a break."""
    breaks: list[chain.Break] = []
    done = 0
    recorded = generations.read(generations_file)
    for shop in _shops(db, shop_id):
        with db.read() as session:
            listed, broken_list = listed_heads(session, keyring, shop, recorded.get(shop))
        breaks += broken_list
        for conversation_id in _conversations(db, shop):
            with db.read() as session:
                found, _ = check_conversation(
                    session, keyring, shop, conversation_id, listed.pop(conversation_id, None), uploads_dir
                )
            breaks += found
            done += 1
            if progress is not None:
                progress(done)
        # Listed when the list was signed, not stored now: deleted, rows and all.
        breaks += [chain.Break(cid, None, N_("the conversation is gone"), shop) for cid in sorted(listed)]
    if shop_id is None:
        # A shop whose list was signed and that is not stored now: deleted, lists and all.
        stored = set(_shops(db, None))
        breaks += [chain.Break(None, None, N_("the shop is gone"), s) for s in sorted(set(recorded) - stored)]
    return breaks


def check_conversation(
    session: Session,
    keyring: Keyring,
    shop_id: int,
    conversation_id: int,
    listed: tuple[int, str] | None,
    uploads_dir: Path | None,
) -> tuple[list[chain.Break], list[Message]]:
    """One conversation's breaks (its chain, checkpoints and recalls, the head the shop's signed
    list gives it; with ``uploads_dir`` its files' bytes too), and its messages in order, as
    walked (the evidence pack prints from the very rows it checked)."""
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
    breaks = chain.verify_conversation(keyring, shop_id, conversation_id, messages, checkpoints, listed)
    if uploads_dir is not None:
        breaks += _attachment_breaks(session, uploads_dir, conversation_id, messages)
    return breaks, messages


def _attachment_breaks(
    session: Session, uploads_dir: Path, conversation_id: int, messages: Iterable[Any]
) -> list[chain.Break]:
    """Each image or file message, and each product card with its kept photo
    (``chat/card_photos.py``), whose stored file is gone or no longer has the bytes it was sent with."""
    files = [(m, m.data if m.kind in ("image", "file") else m.data.get("photo")) for m in messages]
    files = [(m, named) for m, named in files if isinstance(named, dict)]
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
    for m, named in files:
        attachment = stored.get(m.id)
        path = stored_path(uploads_dir, attachment) if attachment is not None else None
        if path is None or not path.is_file() or attachment.id != named.get("attachment_id"):
            breaks.append(chain.Break(conversation_id, m.seq, N_("attachment missing")))
        elif file_sha256(path) != named.get("sha256"):
            breaks.append(chain.Break(conversation_id, m.seq, N_("attachment changed")))
    return breaks


def sign_heads(
    db: Database, keyring: Keyring, shop_id: int | None = None, *, generations_file: Path | None = None
) -> int:
    """Checkpoint each conversation whose head moved since its last checkpoint, then sign each
    shop's list of conversations; returns how many heads were checkpointed.

    Sending signs every ``CHECKPOINT_EVERY`` messages; this covers the quiet tails in between (run
    it from cron, hourly say), so a deleted or rewritten recent message is caught as well, and so
    is a conversation deleted whole. With ``generations_file`` each list's generation is recorded
    there once committed, for ``verify`` to catch an older list put back.
    """
    signed = 0
    for shop in _shops(db, shop_id):
        for conversation_id in _conversations(db, shop):
            with db.write() as session:
                signed += _sign_head(session, keyring, shop, conversation_id)
        with db.write() as session:
            generation = _sign_list(session, keyring, shop)
        if generations_file is not None:
            generations.record(generations_file, shop, generation)
    return signed


def _sign_head(session: Session, keyring: Keyring, shop_id: int, conversation_id: int) -> int:
    last_signed = session.scalar(
        select(func.max(ChainCheckpoint.seq)).where(ChainCheckpoint.conversation_id == conversation_id)
    )
    head = session.execute(
        select(Message.seq, Message.hash)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.seq.desc())
        .limit(1)
    ).first()
    if head is None or (last_signed or 0) >= head.seq:
        return 0
    session.add(
        ChainCheckpoint(
            shop_id=shop_id,
            conversation_id=conversation_id,
            seq=head.seq,
            hash=head.hash,
            signature=chain.checkpoint_signature(keyring, shop_id, conversation_id, head.seq, head.hash),
            created_at=clock.now(),
        )
    )
    return 1


def _sign_list(session: Session, keyring: Keyring, shop_id: int) -> int:
    """Replace the shop's signed list with every conversation and its head as stored now (one read
    in the write transaction: a message counted is a message stored); returns its generation."""
    rows = session.execute(
        select(Conversation.id, Conversation.message_count, Message.hash)
        .outerjoin(
            Message,
            (Message.conversation_id == Conversation.id) & (Message.seq == Conversation.message_count),
        )
        .where(Conversation.shop_id == shop_id)
        .order_by(Conversation.id)
    )
    heads = [[cid, count, head.hex() if head is not None else ""] for cid, count, head in rows]
    manifest = session.scalar(select(ChainManifest).where(ChainManifest.shop_id == shop_id).with_for_update())
    if manifest is None:
        manifest = ChainManifest(shop_id=shop_id, generation=0)
        session.add(manifest)
    manifest.generation += 1
    manifest.heads = heads
    manifest.signature = chain.manifest_signature(keyring, shop_id, manifest.generation, heads)
    manifest.created_at = clock.now()
    return manifest.generation
