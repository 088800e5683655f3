"""HTTP routes of the catalog domain (thin: validate, open the unit of work, call the service)."""

from __future__ import annotations

from pathlib import Path

from anyio import to_thread
from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as Path_
from fastapi.responses import FileResponse, Response
from pydantic import ValidationError

from shangliao.auth.access import public, staff
from shangliao.auth.actor import Actor
from shangliao.catalog import images, service
from shangliao.catalog.models import ProductImage
from shangliao.catalog.schemas import (
    PhotoOrderIn,
    PhotoOut,
    PhotoPatch,
    ProductIn,
    ProductOut,
    ProductPage,
    ProductPatch,
    VariantIn,
    VariantOut,
    VariantPatch,
)
from shangliao.chat.attachment_api import UPLOAD_RESPONSES, file_responses, upload_body
from shangliao.chat.attachments import SAFE_HEADERS, Upload, receive_upload, shop_folder
from shangliao.core.errors import Invalid, NotFound
from shangliao.core.i18n import N_
from shangliao.core.schemas import MAX_ID, PathId, RowRef, StrictModel
from shangliao.runtime import Runtime, get_runtime

router = APIRouter(tags=["catalog"])
# A photo's key as the server made it: 32 lowercase hex digits.
PathKey = Path_(pattern=r"^[0-9a-f]{32}$")

# Ids beyond a 64-bit integer can never exist; refusing them here keeps them away from the driver.


@router.post("/products", response_model=ProductOut, status_code=201)
def create_product(
    body: ProductIn, actor: Actor = Depends(staff("catalog.write")), rt: Runtime = Depends(get_runtime)
):
    """Create a product with all its variants; each variant's `on_hand` is booked as initial stock."""
    with rt.db.write() as session:
        product = service.do_create_product(session, actor, body)
        return service.product_out(product)


@router.get("/products", response_model=ProductPage)
def list_products(
    active: bool | None = None,
    presale: bool | None = None,
    low_stock: bool = Query(False, description="Only products with a variant at or below the threshold."),
    q: str | None = Query(None, max_length=100, description="Part of the name, of an alias or of a SKU."),
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(20, ge=1, le=100),
    actor: Actor = Depends(staff("catalog.read")),
    rt: Runtime = Depends(get_runtime),
):
    filters = service.ProductFilter(active=active, presale=presale, low_stock=low_stock, q=(q or "").strip())
    with rt.db.read() as session:
        rows, next_cursor = service.list_products(session, actor.shop_id, filters, cursor=cursor, limit=limit)
        return ProductPage(items=[service.product_out(p) for p in rows], next_cursor=next_cursor)


@router.get("/products/{product_id}", response_model=ProductOut)
def get_product(
    product_id: PathId, actor: Actor = Depends(staff("catalog.read")), rt: Runtime = Depends(get_runtime)
):
    with rt.db.read() as session:
        return service.product_out(service.access_product(session, actor.shop_id, product_id))


@router.patch("/products/{product_id}", response_model=ProductOut)
def update_product(
    product_id: PathId,
    body: ProductPatch,
    actor: Actor = Depends(staff("catalog.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Change product fields; fields left out stay as they are."""
    with rt.db.write() as session:
        product = service.access_product(session, actor.shop_id, product_id)
        return service.product_out(service.do_update_product(session, actor, product, body))


@router.post("/products/{product_id}/variants", response_model=VariantOut, status_code=201)
def add_variant(
    product_id: PathId,
    body: VariantIn,
    actor: Actor = Depends(staff("catalog.write")),
    rt: Runtime = Depends(get_runtime),
):
    with rt.db.write() as session:
        product = service.access_product(session, actor.shop_id, product_id)
        variant = service.do_add_variant(session, actor, product, body)
        return service.variant_out(variant, product.low_stock_threshold)


@router.get("/variants/{variant_id}", response_model=VariantOut)
def get_variant(
    variant_id: PathId, actor: Actor = Depends(staff("catalog.read")), rt: Runtime = Depends(get_runtime)
):
    with rt.db.read() as session:
        variant = service.access_variant(session, actor.shop_id, variant_id)
        return service.variant_out(variant, variant.product.low_stock_threshold)


@router.patch("/variants/{variant_id}", response_model=VariantOut)
def update_variant(
    variant_id: PathId,
    body: VariantPatch,
    actor: Actor = Depends(staff("catalog.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Change price, spec or active flag (`active: false` deactivates). Stock changes by adjustment."""
    with rt.db.write() as session:
        variant = service.access_variant(session, actor.shop_id, variant_id)
        variant = service.do_update_variant(session, actor, variant, body)
        return service.variant_out(variant, variant.product.low_stock_threshold)


# --- photos ---------------------------------------------------------------------------------------

# Uploads per staff member, as for chat attachments: a product's nine photos fit, a script does not.
PHOTO_UPLOADS = "30/minute"


class PhotoUploadFields(StrictModel):
    variant_id: RowRef | None = None


PHOTO_UPLOAD_DOC = upload_body(
    "A JPEG, PNG, GIF or WebP photo, judged from its bytes. It is stored re-encoded: turned upright, "
    "metadata (EXIF, GPS) removed.",
    variant_id={
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_ID,
        "description": "The variant the photo shows; left out for the whole product.",
    },
)
PHOTO_FILE_DOC = file_responses("The photo (JPEG or PNG), shown inline.", ("image/jpeg", "image/png"))


def _upload_fields(raw: dict[str, str]) -> PhotoUploadFields:
    try:
        return PhotoUploadFields.model_validate(raw)
    except ValidationError:
        raise Invalid("product_image.bad_variant", N_("Choose one of the product's variants.")) from None


async def upload_photo(request: Request, rt: Runtime, actor: Actor, product_id: int) -> ProductImage:
    """Receive, check, re-encode and store one photo (the console's upload uses this too); every
    refusal leaves no row and no file behind."""

    def admit() -> None:  # before a byte of the body is read: the product, its room, the rate
        with rt.db.read() as session:
            service.access_product(session, actor.shop_id, product_id)
            images.check_room(session, actor.shop_id, product_id)
        rt.limits.check(PHOTO_UPLOADS, "upload", "staff", str(actor.staff_id))

    await to_thread.run_sync(admit)
    uploads = rt.settings.uploads_dir
    upload = await receive_upload(request, uploads, rt.settings.max_upload_bytes, frozenset({"variant_id"}))
    try:
        return await to_thread.run_sync(_store_photo, rt, actor, product_id, upload)
    finally:
        upload.forget_temp()  # not awaited: this must run even when the request is being cancelled


def _store_photo(rt: Runtime, actor: Actor, product_id: int, upload: Upload) -> ProductImage:
    fields = _upload_fields(upload.fields)
    encoded = images.encode(upload, rt.settings.uploads_dir)  # decoding stays outside the writer
    try:
        with rt.db.write() as session:
            photo = images.do_add_photo(
                session, actor, rt.settings.uploads_dir, product_id, encoded, variant_id=fields.variant_id
            )
            session.flush()
            session.expunge(photo)
    except BaseException:
        encoded.discard()  # refused or not committed: the stored files go too
        raise
    return photo


@router.post(
    "/products/{product_id}/images",
    response_model=PhotoOut,
    status_code=201,
    openapi_extra=PHOTO_UPLOAD_DOC,
    responses=UPLOAD_RESPONSES,
)
async def add_photo(
    product_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("catalog.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Upload a product photo (multipart form, field `file`), added last; at most 9 a product.
    The first photo is the cover."""
    return service.photo_out(await upload_photo(request, rt, actor, product_id))


@router.put("/products/{product_id}/images/order", response_model=ProductOut)
def reorder_photos(
    product_id: PathId,
    body: PhotoOrderIn,
    actor: Actor = Depends(staff("catalog.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Put the product's photos in this order (every photo once); the first becomes the cover."""
    with rt.db.write() as session:
        product = images.locked_product(session, actor.shop_id, product_id)
        return service.product_out(images.do_reorder_photos(session, actor, product, body.image_ids))


def _photo_product(session, actor: Actor, image_id: int):
    photo = images.access_photo(session, actor.shop_id, image_id)
    return images.locked_product(session, actor.shop_id, photo.product_id)


@router.post("/product-images/{image_id}/cover", response_model=ProductOut)
def choose_cover(
    image_id: PathId, actor: Actor = Depends(staff("catalog.write")), rt: Runtime = Depends(get_runtime)
):
    """Make this photo the product's cover: it moves to the front, the others keep their order."""
    with rt.db.write() as session:
        product = _photo_product(session, actor, image_id)
        return service.product_out(images.do_set_cover(session, actor, product, image_id))


@router.patch("/product-images/{image_id}", response_model=PhotoOut)
def update_photo(
    image_id: PathId,
    body: PhotoPatch,
    actor: Actor = Depends(staff("catalog.write")),
    rt: Runtime = Depends(get_runtime),
):
    """Tie the photo to one variant (`variant_id`), or to the whole product (`null`)."""
    with rt.db.write() as session:
        product = _photo_product(session, actor, image_id)
        return service.photo_out(
            images.do_set_photo_variant(session, actor, product, image_id, body.variant_id)
        )


@router.delete("/product-images/{image_id}", status_code=204, response_class=Response)
def delete_photo(
    image_id: PathId, actor: Actor = Depends(staff("catalog.write")), rt: Runtime = Depends(get_runtime)
):
    """Remove the photo and its files; the next one becomes the cover if this was it."""
    with rt.db.write() as session:
        product = _photo_product(session, actor, image_id)
        images.do_delete_photo(session, actor, rt.settings.uploads_dir, product, image_id)
    return Response(status_code=204)


def serve_photo(request: Request, rt: Runtime, photo: ProductImage, *, thumbnail: bool) -> Response:
    """A stored photo, inline, with the attachments' safety headers and an ETag of its bytes."""
    key, digest = (photo.thumb_key, photo.thumb_sha256) if thumbnail else (photo.storage_key, photo.sha256)
    path: Path = shop_folder(rt.settings.uploads_dir, photo.shop_id) / key
    if not path.is_file():  # lost from disk (a restore without the uploads folder): say so plainly
        raise NotFound("product_image.not_found", N_("No such product photo."))
    etag = f'"{digest}"'
    headers = {**SAFE_HEADERS, "ETag": etag, "Content-Disposition": "inline"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return FileResponse(path, media_type=photo.mime, headers=headers)


@router.get("/product-images/{image_id}", response_class=Response, responses=PHOTO_FILE_DOC)
def get_photo(
    image_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("catalog.read")),
    rt: Runtime = Depends(get_runtime),
):
    """The photo as stored (at most 1600 px on its longer edge)."""
    with rt.db.read() as session:
        return serve_photo(
            request, rt, images.access_photo(session, actor.shop_id, image_id), thumbnail=False
        )


@router.get("/product-images/{image_id}/thumbnail", response_class=Response, responses=PHOTO_FILE_DOC)
def get_photo_thumbnail(
    image_id: PathId,
    request: Request,
    actor: Actor = Depends(staff("catalog.read")),
    rt: Runtime = Depends(get_runtime),
):
    """The photo's thumbnail (at most 320 px on its longer edge)."""
    with rt.db.read() as session:
        return serve_photo(request, rt, images.access_photo(session, actor.shop_id, image_id), thumbnail=True)


@router.get(
    "/photos/{key}", response_class=Response, responses=PHOTO_FILE_DOC, dependencies=[Depends(public())]
)
def public_photo(request: Request, key: str = PathKey, rt: Runtime = Depends(get_runtime)):
    """A photo or thumbnail of a product on sale, by the random key in its URL: what a customer's
    phone shows on the shop page, a share link and a product card. A product off sale shows none."""
    with rt.db.read() as session:
        photo, thumbnail = images.access_public_photo(session, key)
        return serve_photo(request, rt, photo, thumbnail=thumbnail)
