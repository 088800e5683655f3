"""HTTP routes of a shop's payment-method settings (thin: check, open the unit, call the use case).

Staff read the methods holding ``payments.record`` or ``payments.manage`` and change them holding
``payments.manage``; a static 收款码 image is served to staff and to the shop's own customers (a
visitor of that shop, by their cookie). Provider notifications live in ``payments/notify_api.py``.
"""

from __future__ import annotations

from pathlib import Path

from anyio import to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response

from shangliao.auth.access import staff, staff_any
from shangliao.auth.actor import Actor
from shangliao.catalog import images
from shangliao.chat.attachment_api import file_responses, upload_body
from shangliao.chat.attachments import SAFE_HEADERS, Upload, examine, receive_upload, shop_folder
from shangliao.core.errors import Invalid, NotFound
from shangliao.core.i18n import N_
from shangliao.payments import settings as service
from shangliao.payments.methods import STATIC_CODE, find_method
from shangliao.payments.models import METHOD_KINDS, PaymentMethod
from shangliao.payments.schemas import MethodIn, MethodList, MethodOut
from shangliao.runtime import Runtime, get_runtime
from shangliao.storefront.api import shop_page_router, visitor
from shangliao.storefront.visitors import Guest
from shangliao.web.errors import ErrorBody

router = APIRouter(tags=["payment methods"])
guest_router = shop_page_router()
READERS = ("payments.record", "payments.manage")

# A 收款码 is a screenshot of a QR: a few hundred KB. The limit stops a camera original, and a
# merchant replaces their codes a few times, not dozens.
CODE_MAX_BYTES = 4 * 1024 * 1024
CODE_UPLOADS = "20/hour"
CODE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp"})

CODE_UPLOAD_DOC = upload_body(
    "A PNG, JPEG or WebP image of at most 4 MB, judged from its bytes; stored re-encoded, without its metadata."
)
CODE_FILE_DOC = file_responses("The payment code image (PNG), shown inline.", ("image/png",))


@router.get("/payment-methods", response_model=MethodList)
def list_methods(actor: Actor = Depends(staff_any(*READERS)), rt: Runtime = Depends(get_runtime)):
    """Every kind (WeChat Pay, Alipay, bank transfer, gateway), configured or not, with its switch,
    settings and whether each secret is set; never a secret's value."""
    with rt.db.read() as session:
        return MethodList(
            items=[service.method_out(k, find_method(session, actor.shop_id, k)) for k in METHOD_KINDS]
        )


@router.get("/payment-methods/{kind}", response_model=MethodOut)
def get_method(kind: str, actor: Actor = Depends(staff_any(*READERS)), rt: Runtime = Depends(get_runtime)):
    service.check_kind(kind)
    with rt.db.read() as session:
        return service.method_out(kind, find_method(session, actor.shop_id, kind))


@router.put("/payment-methods/{kind}", response_model=MethodOut)
def put_method(
    kind: str,
    body: MethodIn,
    actor: Actor = Depends(staff("payments.manage")),
    rt: Runtime = Depends(get_runtime),
):
    """Create or replace the method. Fields left out keep their value (`{"enabled": false}`
    switches it off and keeps its configuration); a secret left out keeps the stored one.

    - `wechat`: settings `mchid`, `appid`, `merchant_serial`, `platform_keys`
      (`[{"serial", "public_key"}]`, a platform certificate PEM gives its own serial);
      secrets `apiv3_key` (32 characters), `merchant_private_key` (RSA PEM).
    - `alipay`: settings `app_id`, `seller_id` (2088…), `alipay_public_key`; secrets `app_private_key`.
    - `bank`: settings `account_name`, `bank`, `account_number`, `branch`.
    - `gateway`: settings `name`; secrets `hmac_secret` (at least 32 characters).
    """
    service.check_kind(kind)
    checked = service.check_method_in(kind, body)  # keys parsed here, outside the writer (rule 16)
    with rt.db.write() as session:
        method = service.do_put_method(session, actor, rt.keyring, checked)
        return service.method_out(kind, method)


# --- the static code image -------------------------------------------------------------------------


def _not_a_code() -> Invalid:
    return Invalid("payment_method.code_not_image", N_("A payment code must be a PNG, JPEG or WebP image."))


async def upload_code(request: Request, rt: Runtime, actor: Actor, kind: str) -> PaymentMethod:
    """Receive, check, re-encode and keep a static code (the console's upload uses this too); every
    refusal leaves no file behind and the method as it was."""
    service.check_kind(kind, code=True)
    rt.limits.check(CODE_UPLOADS, "payment-code", "staff", str(actor.staff_id))
    limit = min(CODE_MAX_BYTES, rt.settings.max_upload_bytes)
    upload = await receive_upload(request, rt.settings.uploads_dir, limit, frozenset())
    try:
        return await to_thread.run_sync(store_code, rt, actor, kind, upload)
    finally:
        upload.forget_temp()  # not awaited: this must run even when the request is being cancelled


def store_code(rt: Runtime, actor: Actor, kind: str, upload: Upload) -> PaymentMethod:
    """Judge, re-encode and keep an upload as the method's code (the demo seeds one this way too).
    Decoding runs here, outside the writer (rule 16); a refusal leaves no file behind."""
    if examine(upload).sniffed.type.mime not in CODE_TYPES:
        raise _not_a_code()
    try:
        # PNG whatever was sent: a QR's sharp edges survive, JPEG would blur them.
        encoded = images.encode(upload, rt.settings.uploads_dir, lossless=True)
    except Invalid as exc:
        if exc.code == "product_image.not_image":
            raise _not_a_code() from None
        raise
    encoded.files.pop().unlink(missing_ok=True)  # a code is shown whole: no thumbnail
    encoded.sizes.pop()
    try:
        with rt.db.write() as session:
            method = service.do_set_static_code(session, actor, rt.settings.uploads_dir, kind, encoded)
            session.expunge(method)
    except BaseException:
        encoded.discard()
        raise
    return method


@router.put(
    "/payment-methods/{kind}/static-code",
    response_model=MethodOut,
    openapi_extra=CODE_UPLOAD_DOC,
    responses={
        413: {"model": ErrorBody, "description": "The file is larger than 4 MB"},
        429: {"model": ErrorBody, "description": "Too many uploads; see Retry-After"},
    },
)
async def put_static_code(
    kind: str,
    request: Request,
    actor: Actor = Depends(staff("payments.manage")),
    rt: Runtime = Depends(get_runtime),
):
    """Upload the 收款码 image of `wechat` or `alipay` (multipart form, field `file`), replacing
    the one before. A method not set up yet is made, switched off."""
    return service.method_out(kind, await upload_code(request, rt, actor, kind))


@router.delete("/payment-methods/{kind}/static-code", response_model=MethodOut)
def delete_static_code(
    kind: str, actor: Actor = Depends(staff("payments.manage")), rt: Runtime = Depends(get_runtime)
):
    """Remove the 收款码 image; the rest of the method stays."""
    service.check_kind(kind, code=True)
    with rt.db.write() as session:
        return service.method_out(
            kind, service.do_remove_static_code(session, actor, rt.settings.uploads_dir, kind)
        )


def serve_code(request: Request, rt: Runtime, shop_id: int, kind: str) -> Response:
    """The method's code image, inline, with the attachments' safety headers and an ETag."""
    with rt.db.read() as session:
        method = find_method(session, shop_id, kind)
        code = (method.settings or {}).get(STATIC_CODE) if method else None
    if not code:
        raise NotFound("payment_method.no_static_code", N_("This payment method has no payment code image."))
    path: Path = shop_folder(rt.settings.uploads_dir, shop_id) / code["key"]
    if not path.is_file():  # lost from disk (a restore without the uploads folder): say so plainly
        raise NotFound("payment_method.no_static_code", N_("This payment method has no payment code image."))
    etag = f'"{code["sha256"]}"'
    headers = {**SAFE_HEADERS, "ETag": etag, "Content-Disposition": "inline"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return FileResponse(path, media_type=code["mime"], headers=headers)


@router.get("/payment-methods/{kind}/static-code", response_class=Response, responses=CODE_FILE_DOC)
def get_static_code(
    kind: str,
    request: Request,
    actor: Actor = Depends(staff_any(*READERS)),
    rt: Runtime = Depends(get_runtime),
):
    """The 收款码 image as stored."""
    return serve_code(request, rt, actor.shop_id, service.check_kind(kind, code=True))


@guest_router.get("/payment-codes/{kind}", response_class=Response, responses=CODE_FILE_DOC)
def guest_static_code(
    shop: str,
    kind: str,
    request: Request,
    guest: Guest = Depends(visitor()),
    rt: Runtime = Depends(get_runtime),
):
    """The shop's 收款码 image of an enabled method, for its own customers (their visitor cookie)."""
    service.check_kind(kind, code=True)
    with rt.db.read() as session:
        method = find_method(session, guest.shop_id, kind)
        if method is None or not method.enabled:
            raise NotFound(
                "payment_method.no_static_code", N_("This payment method has no payment code image.")
            )
    return serve_code(request, rt, guest.shop_id, kind)
