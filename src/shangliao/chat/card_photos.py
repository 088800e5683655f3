"""A product card's photo, kept as evidence of what the customer was shown.

A product card shows the product's cover. The cover is a product photo, which the merchant may
delete, and a product taken off sale shows no public photo at all; but a card is evidence of what
was offered ("this is the one you sent me"), so it must keep showing the photo it was sent with.

So when a card is sent, the cover's thumbnail becomes a file of the conversation: an
``Attachment`` of the card message, under its own random key, made as a second name (a hard link,
or a copy where the disk cannot link) of the thumbnail's bytes. Deleting the photo removes the
photo's names, never the card's; attachments are evidence (rule 17 of docs/architecture.md). The
file is served like any file of the conversation, by ``chat/attachment_api.py``: to the shop's
staff who may read chats, and to the customer's device that may see the message, to no one else.
The card's data names the file and its SHA-256, which the hash chain covers.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from shangliao.catalog.models import ProductImage
from shangliao.catalog.service import access_product
from shangliao.chat.attachment_types import display_name, sniff
from shangliao.chat.attachments import INCOMING, place_file, shop_folder
from shangliao.chat.models import Attachment, Conversation
from shangliao.chat.service import Sent
from shangliao.core import clock
from shangliao.core.errors import ShangliaoError

PHOTO = "photo"  # the card data's key for its kept photo


@dataclass
class Kept:
    """A card photo placed for a card about to be sent; :meth:`sent` ties it to the message."""

    attachment: Attachment
    path: Path

    def sent(self, session: Session, sent: Sent) -> None:
        """The card went out: its message owns the file. A retried send answered with the first
        card keeps that card's file; this one is dropped, row and name."""
        if sent.replayed:
            session.delete(self.attachment)
            session.flush()
            self.discard()
            return
        self.attachment.message_id = sent.id
        session.flush()

    def discard(self) -> None:
        """The send failed (the transaction rolled back): the placed name goes too."""
        self.path.unlink(missing_ok=True)


def _second_name(source: Path, incoming: Path) -> Path | None:
    """A new name in ``incoming`` for ``source``'s bytes: a hard link (no bytes copied), else a copy;
    None when the source is gone (deleted meanwhile, or lost from disk)."""
    incoming.mkdir(parents=True, exist_ok=True)
    target = incoming / secrets.token_hex(16)
    try:
        os.link(source, target)
    except FileNotFoundError:
        return None
    except OSError:  # a disk without hard links
        try:
            shutil.copyfile(source, target)
        except FileNotFoundError:
            return None
    return target


def keep_cover(
    session: Session,
    uploads_dir: Path,
    conversation: Conversation,
    data: dict[str, Any],
    *,
    sender_id: int | None,
) -> Kept | None:
    """Keep the cover of a product card's product as a file of ``conversation``, and name it in the
    card's ``data`` (in place of the public address, which stops working once the photo goes).
    None when the product has no photo (the card keeps an image address given through the API,
    if any). The file is placed before the caller commits: on failure the caller discards it."""
    product = access_product(session, conversation.shop_id, data["product_id"])
    if not product.photos:
        return None
    cover: ProductImage = product.photos[0]
    folder = shop_folder(uploads_dir, conversation.shop_id)
    temp = _second_name(folder / cover.thumb_key, uploads_dir / INCOMING)
    if temp is None:
        data["image"] = None  # nothing left to keep: the card shows no photo rather than a broken one
        return None
    try:
        sniffed = sniff(temp)
    except ShangliaoError:  # not what a thumbnail should be: not shown rather than served
        temp.unlink(missing_ok=True)
        data["image"] = None
        return None
    attachment = Attachment(
        shop_id=conversation.shop_id,
        conversation_id=conversation.id,
        sender_type="staff",
        sender_id=sender_id,
        kind="image",
        mime=sniffed.type.mime,
        size=temp.stat().st_size,
        sha256=cover.thumb_sha256,
        storage_key=secrets.token_hex(16),
        name=display_name(product.name, sniffed.type),
        width=cover.thumb_width,
        height=cover.thumb_height,
        created_at=clock.now(),
    )
    session.add(attachment)
    try:
        session.flush()
        path = place_file(temp, uploads_dir, conversation.shop_id, attachment.storage_key)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    data["image"] = None
    data[PHOTO] = {
        "attachment_id": attachment.id,
        "sha256": attachment.sha256,
        "width": attachment.width,
        "height": attachment.height,
    }
    return Kept(attachment, path)


@contextlib.contextmanager
def discarded_on_failure():
    """Around a send's transaction: ``kept.append(...)`` each placed photo; they are removed again
    if the transaction does not commit."""
    kept: list[Kept] = []
    try:
        yield kept
    except BaseException:
        for one in kept:
            one.discard()
        raise
