"""HTTP routes of attachments: staff and customers upload a photo or a file (which sends it as a
message) and download what they may see.

Uploads are ``async``: the body is streamed to disk by ``attachments.receive_upload`` (FastAPI is
never asked to parse the form, which would spool all of it first); checks, the database and the
disk's fsync run in the threadpool. Downloads are served so a browser can never run them: images
only inline (the four sniffed photo types), everything else as a download, never sniffed, sandboxed.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from anyio import to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, Response
from pydantic import ValidationError

from shangliao.auth.access import staff, staff_any
from shangliao.auth.actor import Actor
from shangliao.chat import service
from shangliao.chat.attachment_types import DOWNLOAD_MIMES, TYPES
from shangliao.chat.attachments import (
    FILE_FIELD,
    SAFE_HEADERS,
    Upload,
    access_attachment,
    access_attachment_as_guest,
    do_send_attachment,
    examine,
    existing_file,
    receive_upload,
)
from shangliao.chat.models import Attachment
from shangliao.chat.schemas import ClientId, MessageOut
from shangliao.chat.views import message_out
from shangliao.core.errors import NotFound
from shangliao.core.i18n import N_
from shangliao.core.schemas import MAX_ID, PathId, RowRef, StrictModel
from shangliao.orders.evidence import access_evidence
from shangliao.runtime import Runtime, get_runtime
from shangliao.storefront.api import shop_page_router, visitor
from shangliao.storefront.visitors import Guest
from shangliao.web.errors import ERROR_RESPONSES, ErrorBody

# Registered by ``app.py`` rather than ``web/api.py``: this module needs the shop page's ``visitor()``,
# which itself imports ``web/api.py``.
router = APIRouter(prefix="/api/v1", tags=["chat"], responses=ERROR_RESPONSES)
guest_router = shop_page_router()

# Uploads per person (a staff member, a customer): a burst of photos of a parcel fits; a script
# filling the disk does not.
UPLOADS = "30/minute"


class StaffUploadFields(StrictModel):
    client_id: ClientId = None
    order_id: RowRef | None = None


class GuestUploadFields(StrictModel):
    client_id: ClientId = None


def upload_body(file_description: str, **fields: dict[str, Any]) -> dict[str, Any]:
    """A multipart upload's body for the OpenAPI schema (FastAPI only documents forms it parses
    itself): the ``file`` and the form ``fields`` beside it. Chat attachments, payment proofs,
    product photos and payment codes."""
    file = {"type": "string", "format": "binary", "description": file_description}
    schema = {
        "type": "object",
        "required": [FILE_FIELD],
        "properties": {FILE_FIELD: file, **fields},
        "additionalProperties": False,
    }
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


def file_responses(description: str, mimes: Iterable[str]) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI answer of a route that serves a stored file (``mimes``: what it may be)."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {200: {"description": description, "content": {mime: binary for mime in mimes}}}


def _upload_body(fields: type[StrictModel]) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "client_id": {
            "type": "string",
            "pattern": r"^[A-Za-z0-9_-]{8,64}$",
            "description": "The sender's own id for the message: a retried upload is not stored twice.",
        },
    }
    if "order_id" in fields.model_fields:
        properties["order_id"] = {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_ID,
            "description": "An order of this customer: a photo sent with it is the order's "
            "'product photos before shipping' checkpoint.",
        }
    return upload_body("The photo or file. Its type is judged from its bytes, not its name.", **properties)


UPLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorBody, "description": "The file is larger than the upload limit"},
    429: {"model": ErrorBody, "description": "Too many uploads; see Retry-After"},
}
DOWNLOAD_RESPONSES = file_responses(
    "The file: photos inline, anything else as a download.",
    (mime.split(";")[0] for mime in DOWNLOAD_MIMES),
)


def _fields(model: type[StrictModel], raw: dict[str, str]) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        errors = [
            {**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False, include_input=False)
        ]
        raise RequestValidationError(errors) from None


async def _upload_and_send(request: Request, rt: Runtime, fields_model: type[StrictModel], send) -> dict:
    """Receive the upload, check its fields, then ``send(upload, fields)`` in the threadpool; the
    temporary file is gone afterwards whatever happened."""
    allowed = frozenset(fields_model.model_fields)
    upload = await receive_upload(request, rt.settings.uploads_dir, rt.settings.max_upload_bytes, allowed)
    try:
        fields = _fields(fields_model, upload.fields)
        return await to_thread.run_sync(send, upload, fields)
    finally:
        upload.forget_temp()  # not awaited: this must run even when the request is being cancelled


def _store(rt: Runtime, upload: Upload, shop_id: int, conversation_id: int, **send: Any) -> dict:
    examined = examine(upload)
    try:
        with rt.db.write() as session:
            sent = do_send_attachment(
                session,
                rt.keyring,
                rt.settings.uploads_dir,
                shop_id,
                conversation_id,
                upload,
                examined,
                **send,
            )
    except BaseException:
        upload.discard()  # refused or not committed: the stored file goes too
        raise
    return message_out(sent, replayed=sent.replayed)


@router.post(
    "/conversations/{conversation_id}/attachments",
    response_model=MessageOut,
    status_code=201,
    responses=UPLOAD_RESPONSES,
    openapi_extra=_upload_body(StaffUploadFields),
)
async def staff_upload(
    conversation_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("chat.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Send the customer a photo or a file (multipart form, field `file`). With `order_id`, the
    message is linked to that order; a photo then counts as its "product photos" checkpoint."""

    def admit() -> None:  # before a byte of the body is read: the conversation, then the rate
        with rt.db.read() as session:
            service.access_conversation(session, actor, conversation_id)
        rt.limits.check(UPLOADS, "upload", "staff", str(actor.staff_id))

    await to_thread.run_sync(admit)

    def send(upload: Upload, fields: StaffUploadFields) -> dict:
        return _store(
            rt, upload, actor.shop_id, conversation_id,
            sender_type="staff", sender_id=actor.staff_id, client_id=fields.client_id, order_id=fields.order_id,
            sender=actor,
        )  # fmt: skip

    return await _upload_and_send(request, rt, StaffUploadFields, send)


@guest_router.post(
    "/attachments",
    response_model=MessageOut,
    status_code=201,
    responses=UPLOAD_RESPONSES,
    openapi_extra=_upload_body(GuestUploadFields),
)
async def guest_upload(
    shop: str, request: Request, guest: Guest = Depends(visitor()), rt: Runtime = Depends(get_runtime)
):
    """Send the shop a photo or a file (multipart form, field `file`)."""
    await to_thread.run_sync(rt.limits.check, UPLOADS, "upload", "customer", str(guest.customer_id))

    def send(upload: Upload, fields: GuestUploadFields) -> dict:
        return _store(
            rt, upload, guest.shop_id, guest.conversation_id,
            sender_type="customer", sender_id=guest.customer_id, client_id=fields.client_id,
        )  # fmt: skip

    return await _upload_and_send(request, rt, GuestUploadFields, send)


# --- downloads ------------------------------------------------------------------------------------------


def content_disposition(disposition: str, name: str) -> str:
    """``filename`` in plain ASCII for old clients, ``filename*`` (RFC 5987) with the real name."""
    stem, _, ext = name.rpartition(".")
    ascii_stem = "".join(ch if " " <= ch <= "~" and ch not in '"\\;' else "_" for ch in stem)
    if not any(ch.isalnum() for ch in ascii_stem):
        ascii_stem = "download"
    return f"{disposition}; filename=\"{ascii_stem}.{ext}\"; filename*=UTF-8''{quote(name, safe='')}"


def _download(request: Request, attachment: Attachment, path: Path) -> Response:
    inline = attachment.kind == "image" and attachment.mime in {t.mime for t in TYPES.values() if t.inline}
    etag = f'"{attachment.sha256}"'
    headers = {
        **SAFE_HEADERS,
        "ETag": etag,
        "Content-Disposition": content_disposition("inline" if inline else "attachment", attachment.name),
    }
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return FileResponse(path, media_type=attachment.mime, headers=headers)


def _staff_attachment(session: Any, actor: Actor, attachment_id: int) -> Attachment:
    """Through the chat (chat.read, the conversation's scope), else as evidence of an order."""
    refused: NotFound | None = None
    if "chat.read" in actor.permissions:
        try:
            return access_attachment(session, actor, attachment_id)
        except NotFound as exc:
            refused = exc
    attachment = access_evidence(session, actor, attachment_id)
    if attachment is None:
        raise refused or NotFound("attachment.not_found", N_("This file does not exist."))
    return attachment


@router.get(
    "/attachments/{attachment_id}",
    response_class=Response,
    responses=DOWNLOAD_RESPONSES,
)
def staff_download(
    attachment_id: PathId,
    request: Request,
    actor: Actor = Depends(staff_any("chat.read", "orders.read")),
    rt: Runtime = Depends(get_runtime),
):
    """A conversation's photo or file, recalled ones included (the shop keeps them as evidence).
    A payment proof's screenshot or an after-sales photo is also readable by who may see its
    order (orders/evidence.py), without reading the chat."""
    with rt.db.read() as session:  # the row is read inside: the session forgets it when closed
        attachment = _staff_attachment(session, actor, attachment_id)
        return _download(request, attachment, existing_file(rt.settings.uploads_dir, attachment))


@guest_router.get(
    "/attachments/{attachment_id}",
    response_class=Response,
    responses=DOWNLOAD_RESPONSES,
)
def guest_download(
    shop: str,
    attachment_id: PathId,
    request: Request,
    guest: Guest = Depends(visitor()),
    rt: Runtime = Depends(get_runtime),
):
    """A photo or file of your conversation with the shop (from when this device joined it)."""
    with rt.db.read() as session:  # the row is read inside: the session forgets it when closed
        attachment = access_attachment_as_guest(session, guest, attachment_id)
        return _download(request, attachment, existing_file(rt.settings.uploads_dir, attachment))
