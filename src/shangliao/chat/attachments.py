"""Attachments: receive an upload, store it under a name of our own, send it as a message.

An upload goes to disk as it arrives (never whole in memory), counted as it goes: past the limit
it is cut off and refused, whatever its Content-Length said. Its type is then judged from its
bytes (``attachment_types``), it is fsynced and renamed to ``uploads/<shop_id>/<random key>`` in
the transaction that writes its row and its message, and removed again if that transaction fails.
Every refusal leaves nothing behind: no row, no message, no file.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anyio import to_thread
from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header
from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.auth.scope import Viewer, within_scope
from shangliao.chat import service
from shangliao.chat.attachment_types import Sniffed, display_name, sniff
from shangliao.chat.models import Attachment, Conversation, Message
from shangliao.chat.service import Sent, Side
from shangliao.core import clock
from shangliao.core.crypto import Keyring
from shangliao.core.errors import Invalid, NotFound, ShangliaoError
from shangliao.core.i18n import N_
from shangliao.orders.timeline import access_order
from shangliao.storefront.visitors import Guest

FILE_FIELD = "file"
# The form's other fields and part headers fit in this many bytes beyond the file itself.
FORM_OVERHEAD = 16 * 1024
MAX_FIELD = 256
# Disk writes leave the event loop in blocks this big, not once per network chunk.
WRITE_BLOCK = 256 * 1024
INCOMING = ".incoming"


class TooLarge(ShangliaoError):
    status = 413


def too_large(limit: int) -> TooLarge:
    return TooLarge(
        "attachment.too_large",
        N_("The file is too large: at most {megabytes} MB."),
        megabytes=f"{limit / (1024 * 1024):.3g}",
    )


def _form_invalid() -> Invalid:
    return Invalid(
        "attachment.form_invalid",
        N_("Send the file as a form upload (multipart/form-data) with one file in the field 'file'."),
    )


@dataclass
class Upload:
    """A received upload: its temporary file, what the client called it, the other form fields.

    ``placed`` is its final path once stored; :meth:`discard` removes whatever of it exists."""

    temp: Path
    filename: str | None = None
    size: int = 0
    sha256: Any = field(default_factory=hashlib.sha256)
    fields: dict[str, str] = field(default_factory=dict)
    placed: Path | None = None

    def discard(self) -> None:
        for path in (self.temp, self.placed):
            if path is not None:
                path.unlink(missing_ok=True)

    def forget_temp(self) -> None:
        self.temp.unlink(missing_ok=True)


def shop_folder(uploads_dir: Path, shop_id: int) -> Path:
    return uploads_dir / str(int(shop_id))


def stored_path(uploads_dir: Path, attachment: Attachment) -> Path:
    return shop_folder(uploads_dir, attachment.shop_id) / attachment.storage_key


# --- receiving --------------------------------------------------------------------------------------------


def check_declared_size(request: Request, limit: int) -> None:
    """Refuse at once what announces itself as too large, before a byte of it is read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FORM_OVERHEAD:
        raise too_large(limit)


class _FormReader:
    """Callbacks for python-multipart's streaming parser: file bytes go to a buffer flushed to the
    temporary file by :func:`receive_upload`; the few small fields are kept as text."""

    def __init__(self, upload: Upload, allowed: frozenset[str], limit: int) -> None:
        self.upload = upload
        self.allowed = allowed
        self.limit = limit
        self.pending = bytearray()
        self.seen_file = False
        self.complete = False  # the closing boundary arrived: a body cut short is not a file
        self._header = [b"", b""]
        self._disposition = b""
        self._name: str | None = None
        self._in_file = False
        self._value = bytearray()

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda data, start, end: self._grow(0, data[start:end]),
            "on_header_value": lambda data, start, end: self._grow(1, data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_done,
            "on_part_data": self._data,
            "on_part_end": self._end,
            "on_end": self._finished,
        }

    def _finished(self) -> None:
        self.complete = True

    def _begin(self) -> None:
        self._disposition, self._name, self._in_file = b"", None, False
        self._value = bytearray()

    def _grow(self, which: int, data: bytes) -> None:
        self._header[which] += data

    def _header_end(self) -> None:
        if self._header[0].strip().lower() == b"content-disposition":
            self._disposition = self._header[1]
        self._header = [b"", b""]

    def _headers_done(self) -> None:
        _, options = parse_options_header(self._disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name == FILE_FIELD and (b"filename" in options or b"filename*" in options):
            if self.seen_file:
                raise _form_invalid()
            self.seen_file = self._in_file = True
            raw = options.get(b"filename", options.get(b"filename*", b""))
            self.upload.filename = raw.decode("utf-8", "replace")
        elif name not in self.allowed or name in self.upload.fields:
            raise Invalid(
                "attachment.field_unknown",
                N_("The upload has a field it does not take: {field}."),
                field=name[:40],
            )
        self._name = name

    def _data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if not self._in_file:
            self._value += chunk
            if len(self._value) > MAX_FIELD:
                raise _form_invalid()
            return
        self.upload.size += len(chunk)
        if self.upload.size > self.limit:  # the first byte past the limit ends the upload
            raise too_large(self.limit)
        self.upload.sha256.update(chunk)
        self.pending += chunk

    def _end(self) -> None:
        if not self._in_file and self._name is not None:
            text = self._value.decode("utf-8", "replace").strip()
            if text:  # an empty field is a field not given (forms send them empty)
                self.upload.fields[self._name] = text


async def receive_upload(request: Request, uploads_dir: Path, limit: int, allowed: frozenset[str]) -> Upload:
    """Stream a multipart upload into a temporary file under ``uploads_dir``; on any refusal (or
    a client that goes away) the temporary file is removed before the error leaves."""
    check_declared_size(request, limit)
    kind, params = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data" or not params.get(b"boundary"):
        raise _form_invalid()
    incoming = uploads_dir / INCOMING
    # Two quick system calls, made here rather than in a thread: a cancelled thread trip could
    # leave the file made but not yet ours to clean up.
    incoming.mkdir(parents=True, exist_ok=True)
    upload = Upload(incoming / f"{secrets.token_hex(16)}.part")
    reader = _FormReader(upload, allowed, limit)
    parser = MultipartParser(params[b"boundary"], reader.callbacks())
    received = 0
    fh = _create_exclusive(upload.temp)
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit + FORM_OVERHEAD:  # a lying or chunked client, cut off here
                raise too_large(limit)
            _feed(parser, chunk)
            if len(reader.pending) >= WRITE_BLOCK:
                await _flush(fh, reader)
        try:
            parser.finalize()
        except ValueError:
            raise _form_invalid() from None
        await _flush(fh, reader)
        if not (reader.seen_file and reader.complete):
            raise _form_invalid()
        await to_thread.run_sync(_sync_close, fh)
    except BaseException:
        fh.close()
        upload.discard()
        raise
    return upload


def _feed(parser: MultipartParser, chunk: bytes) -> None:
    try:
        parser.write(chunk)
    except ShangliaoError:
        raise
    except ValueError:  # python-multipart's parse errors: a malformed form
        raise _form_invalid() from None


def _create_exclusive(path: Path):
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


async def _flush(fh, reader: _FormReader) -> None:
    if reader.pending:
        block, reader.pending = bytes(reader.pending), bytearray()
        await to_thread.run_sync(fh.write, block)


def _sync_close(fh) -> None:
    """On the disk before it is renamed into place: a crash must not leave a named empty file."""
    fh.flush()
    os.fsync(fh.fileno())
    fh.close()


# --- storing and sending ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Examined:
    """An upload judged from its bytes: what it is and the name it is shown under."""

    sniffed: Sniffed
    name: str


def examine(upload: Upload) -> Examined:
    """The type from the bytes (refused unless allowed), then the display name to match."""
    sniffed = sniff(upload.temp)
    return Examined(sniffed, display_name(upload.filename, sniffed.type))


def do_send_attachment(
    session: Session,
    keyring: Keyring,
    uploads_dir: Path,
    shop_id: int,
    conversation_id: int,
    upload: Upload,
    examined: Examined,
    *,
    sender_type: Side,
    sender_id: int | None,
    client_id: str | None = None,
    order_id: int | None = None,
    sender: Viewer | None = None,
) -> Sent:
    """Store the upload and send it as an ``image`` or ``file`` message, idempotent per
    ``client_id`` (a retry returns the first message and stores nothing).

    The file is renamed into place before the caller commits; if the commit fails the caller must
    :meth:`Upload.discard` it (``upload.placed`` says where it went)."""
    # The row lock orders two retries of one upload: the second sees the first one's message.
    conversation = service.lock_conversation(session, shop_id, conversation_id)
    if client_id is not None and _sent_before(session, conversation_id, client_id):
        # do_send recognises the retry and answers with the first message (or refuses another
        # sender's id); the data is not looked at.
        return service.do_send(
            session, keyring, shop_id, conversation_id,
            sender_type=sender_type, sender_id=sender_id, kind="file", client_id=client_id,
        )  # fmt: skip
    extra: dict[str, Any] = {}
    if order_id is not None:
        # The order is looked up in the sender's scope (a member's photo of a colleague's order is
        # not found); only staff name one.
        assert sender is not None, "a message linked to an order names its sender's scope"
        extra = _order_data(session, sender, conversation, order_id, examined)
    sniffed = examined.sniffed
    attachment = Attachment(
        shop_id=shop_id,
        conversation_id=conversation_id,
        sender_type=sender_type,
        sender_id=sender_id,
        kind=sniffed.type.kind,
        mime=sniffed.type.mime,
        size=upload.size,
        sha256=upload.sha256.hexdigest(),
        storage_key=secrets.token_hex(16),
        name=examined.name,
        width=sniffed.width,
        height=sniffed.height,
        created_at=clock.now(),
    )
    session.add(attachment)
    session.flush()
    upload.placed = place_file(upload.temp, uploads_dir, shop_id, attachment.storage_key)
    sent = service.do_send(
        session,
        keyring,
        shop_id,
        conversation_id,
        sender_type=sender_type,
        sender_id=sender_id,
        kind=sniffed.type.kind,
        data=message_data(attachment) | extra,
        client_id=client_id,
    )
    attachment.message_id = sent.id
    session.flush()
    return sent


def _sent_before(session: Session, conversation_id: int, client_id: str) -> bool:
    return (
        session.scalar(
            select(Message.id).where(
                Message.conversation_id == conversation_id, Message.client_id == client_id
            )
        )
        is not None
    )


def _order_data(session: Session, who: Viewer, conversation: Any, order_id: int, examined: Examined) -> dict:
    """An order of this conversation's customer in ``who``'s scope (see chat/cards.py
    customers_order): a photo sent with it is the dispute checkpoint "product photos before
    shipping"."""
    order = access_order(session, who, order_id)
    if order.customer_id != conversation.customer_id:
        raise NotFound("order.not_found", N_("No such order."))
    if examined.sniffed.type.kind == "image":
        return {"order_id": order.id, "checkpoint": "photos"}
    return {"order_id": order.id}


def message_data(attachment: Attachment) -> dict[str, Any]:
    """What the message says of its file. The bytes' SHA-256 is part of it, so the hash chain
    covers the file itself: ``shangliao chat verify`` rehashes the stored file against it."""
    data: dict[str, Any] = {
        "attachment_id": attachment.id,
        "name": attachment.name,
        "size": attachment.size,
        "mime": attachment.mime,
        "sha256": attachment.sha256,
    }
    if attachment.width and attachment.height:
        data |= {"width": attachment.width, "height": attachment.height}
    return data


def place_file(temp: Path, uploads_dir: Path, shop_id: int, key: str) -> Path:
    """Rename the (already fsynced) file into the shop's folder and fsync the folder, so the name
    survives a crash as surely as the row that points at it."""
    folder = shop_folder(uploads_dir, shop_id)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / key
    os.replace(temp, final)
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return final


# --- who may download -------------------------------------------------------------------------------------

# Served with every stored file (chat attachments, product photos), so a browser can never run one.
SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # Even if a browser did render it as a page, it would have no script, no origin, no requests.
    "Content-Security-Policy": "sandbox; default-src 'none'",
    # Other sites cannot embed a customer's photo with the visitor's cookie riding along.
    "Cross-Origin-Resource-Policy": "same-origin",
    # Kept by the browser only, and asked again each time (an ETag keeps that cheap): a recalled
    # photo stops being served at once.
    "Cache-Control": "private, no-cache",
}


def _not_found() -> NotFound:
    return NotFound("attachment.not_found", N_("This file does not exist."))


def access_attachment(session: Session, who: Viewer, attachment_id: int) -> Attachment:
    """Staff: any attachment of a conversation in their data scope (auth/scope.py), recalled ones
    included (they are kept as evidence)."""
    attachment = session.scalar(
        select(Attachment)
        .join(Conversation, Conversation.id == Attachment.conversation_id)
        .where(
            Attachment.id == attachment_id,
            Attachment.shop_id == who.shop_id,
            Attachment.message_id.is_not(None),
            *within_scope(who, Conversation.assignee_id),
        )
    )
    if attachment is None:
        raise _not_found()
    return attachment


def access_attachment_as_guest(session: Session, guest: Guest, attachment_id: int) -> Attachment:
    """A customer: only from their own conversation, sent after this device joined it, and not
    recalled (a recalled message shows nothing on the customer's side, its file included)."""
    attachment = session.scalar(
        select(Attachment)
        .join(Message, Message.id == Attachment.message_id)
        .where(
            Attachment.id == attachment_id,
            Attachment.shop_id == guest.shop_id,
            Attachment.conversation_id == guest.conversation_id,
            Message.seq > guest.since_seq,
            Message.recalled_at.is_(None),
        )
    )
    if attachment is None:
        raise _not_found()
    return attachment


def existing_file(uploads_dir: Path, attachment: Attachment) -> Path:
    path = stored_path(uploads_dir, attachment)
    if not path.is_file():  # lost from disk (a restore without the uploads folder): say so plainly
        raise _not_found()
    return path
