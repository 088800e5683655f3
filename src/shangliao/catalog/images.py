"""Product photos: upload, reorder, choose the cover, tie to a variant, delete.

An upload is received and judged exactly as a chat attachment is (``chat/attachments.py``: streamed
to disk under the size limit, its type sniffed from its bytes), and only a photo is kept. It is then
decoded with Pillow *outside* the single writer (rule 16 of docs/architecture.md) and never stored as
sent: the camera's orientation is applied, then the photo is re-encoded without its metadata, so a
phone's EXIF block (GPS position, device, time) never reaches a customer. A thumbnail is made beside
it. A photo whose header announces more pixels than a phone camera takes is refused before it is
decoded: a small file can unpack to gigabytes (a decompression bomb).

The files live with the chat attachments (``uploads/<shop_id>/<random key>``) and are served with
the same safety headers. The first photo (position 0) is the product's cover.
"""

from __future__ import annotations

import secrets
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shangliao.auth.actor import Actor
from shangliao.catalog.models import Product, ProductImage
from shangliao.catalog.schemas import MAX_PHOTOS
from shangliao.catalog.service import access_product, variant_not_found
from shangliao.chat.attachments import INCOMING, Upload, examine, place_file, shop_folder
from shangliao.core.digests import file_sha256
from shangliao.core.errors import Invalid, NotFound
from shangliao.core.i18n import N_
from shangliao.events.log import DomainEvent, record
from shangliao.storage.hooks import after_commit

# 48 megapixels: the largest a phone camera takes. A header claiming more is refused undecoded.
MAX_PIXELS = 48_000_000
DISPLAY_EDGE = 1600  # sharp on a phone's screen, a fraction of a camera original's bytes
THUMB_EDGE = 320  # the list, the picker and chat cards show photos at 40-160 CSS px
JPEG_QUALITY = 85


def not_found() -> NotFound:
    return NotFound("product_image.not_found", N_("No such product photo."))


def _not_a_photo() -> Invalid:
    return Invalid(
        "product_image.not_image",
        N_("A product photo must be a JPEG, PNG, GIF or WebP image."),
    )


def _too_many_pixels() -> Invalid:
    return Invalid(
        "product_image.too_many_pixels",
        N_("The photo is too large: at most {megapixels} megapixels."),
        megapixels=MAX_PIXELS // 1_000_000,
    )


# --- decoding (in a thread, outside the writer) -------------------------------------------------------


@dataclass
class Encoded:
    """A photo and its thumbnail re-encoded into temporary files; :meth:`discard` removes whatever of
    them exists, placed or not."""

    mime: str
    files: list[Path]  # [photo, thumbnail]
    sizes: list[tuple[int, int]]
    placed: list[Path] = field(default_factory=list)

    def discard(self) -> None:
        for path in (*self.files, *self.placed):
            path.unlink(missing_ok=True)

    @property
    def size(self) -> int:
        return self.files[0].stat().st_size


def encode(upload: Upload, uploads_dir: Path, *, lossless: bool = False) -> Encoded:
    """The upload as a clean photo and thumbnail, or a refusal (and nothing left on disk).
    ``lossless`` keeps it PNG (a payment QR code's sharp edges, payments/api.py)."""
    sniffed = examine(upload).sniffed  # the attachments' checks: type from the bytes, allow-list
    if sniffed.type.kind != "image":
        raise _not_a_photo()
    if sniffed.width and sniffed.height and sniffed.width * sniffed.height > MAX_PIXELS:
        raise _too_many_pixels()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload.temp) as opened:
                # The header again, as Pillow reads it: the sniffed size may have been absent.
                if opened.width * opened.height > MAX_PIXELS:
                    raise _too_many_pixels()
                opened.seek(0)  # an animated GIF or WebP: its first frame
                upright = ImageOps.exif_transpose(opened)  # before the EXIF that says how goes away
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels() from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise Invalid("product_image.unreadable", N_("This photo cannot be read. Try another one.")) from None
    alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
    clean = upright.convert("RGBA" if alpha else "RGB")
    clean.info = {}  # EXIF, XMP, comments, ICC: nothing of the original's metadata is written
    fmt, mime, suffix = ("PNG", "image/png", "png") if alpha or lossless else ("JPEG", "image/jpeg", "jpg")
    incoming = uploads_dir / INCOMING
    files: list[Path] = []
    sizes: list[tuple[int, int]] = []
    try:
        for edge in (DISPLAY_EDGE, THUMB_EDGE):
            image = clean.copy()
            image.thumbnail((edge, edge), Image.Resampling.LANCZOS)
            path = incoming / f"{secrets.token_hex(16)}.{suffix}"
            files.append(path)
            options: dict[str, Any] = {"quality": JPEG_QUALITY, "optimize": True} if fmt == "JPEG" else {}
            image.save(path, fmt, **options)
            sizes.append(image.size)
    except BaseException:
        for path in files:
            path.unlink(missing_ok=True)
        raise
    return Encoded(mime, files, sizes)


# --- access ---------------------------------------------------------------------------------------


def access_photo(session: Session, shop_id: int, image_id: int) -> ProductImage:
    """The shop's photo; another shop's is simply not found (404)."""
    photo = session.scalar(
        select(ProductImage).where(ProductImage.shop_id == shop_id, ProductImage.id == image_id)
    )
    if photo is None:
        raise not_found()
    return photo


def access_public_photo(session: Session, key: str) -> tuple[ProductImage, bool]:
    """A photo (or its thumbnail, ``bool``) by its random key, while its product is on sale: what
    a share link shows, anyone may see; a photo of a product taken off sale is not found."""
    photo = session.scalar(
        select(ProductImage)
        .join(Product, Product.id == ProductImage.product_id)
        .where(
            (ProductImage.storage_key == key) | (ProductImage.thumb_key == key),
            Product.active.is_(True),
            Product.archived_at.is_(None),
        )
    )
    if photo is None:
        raise not_found()
    return photo, photo.thumb_key == key


def locked_product(session: Session, shop_id: int, product_id: int) -> Product:
    """The product, its row locked on PostgreSQL, so two uploads cannot both pass the limit."""
    session.execute(
        select(Product.id).where(Product.shop_id == shop_id, Product.id == product_id).with_for_update()
    )
    return access_product(session, shop_id, product_id)


def check_room(session: Session, shop_id: int, product_id: int) -> None:
    """Refuse a photo past the limit before its bytes are read (the write checks again)."""
    count = session.scalar(
        select(func.count())
        .select_from(ProductImage)
        .where(ProductImage.shop_id == shop_id, ProductImage.product_id == product_id)
    )
    if count >= MAX_PHOTOS:
        raise _full()


def _full() -> Invalid:
    return Invalid("product_image.too_many", N_("A product has at most {count} photos."), count=MAX_PHOTOS)


def _check_variant(product: Product, variant_id: int | None) -> None:
    if variant_id is not None and variant_id not in {v.id for v in product.variants}:
        raise variant_not_found()


# --- changing -------------------------------------------------------------------------------------


def _changed(session: Session, actor: Actor, product: Product) -> None:
    session.flush()
    record(
        session,
        actor.shop_id,
        [DomainEvent("product.updated", "product", product.id, {"fields": ["photos"]})],
    )


def do_add_photo(
    session: Session,
    actor: Actor,
    uploads_dir: Path,
    product_id: int,
    encoded: Encoded,
    *,
    variant_id: int | None = None,
) -> ProductImage:
    """Store an encoded photo as the product's last. The files are renamed into place before the
    caller commits; if the commit fails the caller must :meth:`Encoded.discard` them."""
    product = locked_product(session, actor.shop_id, product_id)
    if len(product.photos) >= MAX_PHOTOS:
        raise _full()
    _check_variant(product, variant_id)
    (width, height), (thumb_width, thumb_height) = encoded.sizes
    photo = ProductImage(
        shop_id=actor.shop_id,
        variant_id=variant_id,
        position=len(product.photos),
        mime=encoded.mime,
        size=encoded.size,
        sha256=file_sha256(encoded.files[0]),
        storage_key=secrets.token_hex(16),
        width=width,
        height=height,
        thumb_key=secrets.token_hex(16),
        thumb_sha256=file_sha256(encoded.files[1]),
        thumb_width=thumb_width,
        thumb_height=thumb_height,
    )
    product.photos.append(photo)
    session.flush()
    for temp, key in zip(encoded.files, (photo.storage_key, photo.thumb_key), strict=True):
        encoded.placed.append(place_file(temp, uploads_dir, actor.shop_id, key))
    _changed(session, actor, product)
    return photo


def do_reorder_photos(session: Session, actor: Actor, product: Product, image_ids: list[int]) -> Product:
    """Put the photos in the order given, which names each of them once; the first is the cover."""
    current = {p.id: p for p in product.photos}
    if sorted(image_ids) != sorted(current):
        raise Invalid(
            "product_image.order_mismatch",
            N_("List every photo of the product once, in the order wanted."),
            details={"expected": sorted(current)},
        )
    _renumber(session, actor, product, [current[i] for i in image_ids])
    return product


def do_set_cover(session: Session, actor: Actor, product: Product, image_id: int) -> Product:
    """Make a photo the cover: it moves to the front, the others keep their order."""
    photo = _photo_of(product, image_id)
    _renumber(session, actor, product, [photo, *(p for p in product.photos if p.id != image_id)])
    return product


def do_set_photo_variant(
    session: Session, actor: Actor, product: Product, image_id: int, variant_id: int | None
) -> ProductImage:
    """Show a photo for one variant (``None``: the whole product)."""
    photo = _photo_of(product, image_id)
    _check_variant(product, variant_id)
    if photo.variant_id != variant_id:
        photo.variant_id = variant_id
        _changed(session, actor, product)
    return photo


def do_delete_photo(
    session: Session, actor: Actor, uploads_dir: Path, product: Product, image_id: int
) -> None:
    """Remove a photo; its files go once the removal is committed (a rollback keeps them)."""
    photo = _photo_of(product, image_id)
    folder = shop_folder(uploads_dir, actor.shop_id)
    paths = [folder / photo.storage_key, folder / photo.thumb_key]
    product.photos.remove(photo)  # delete-orphan: the row goes with it
    _renumber(session, actor, product, list(product.photos))

    def remove_files() -> None:
        for path in paths:
            path.unlink(missing_ok=True)

    after_commit(session, remove_files)


def _photo_of(product: Product, image_id: int) -> ProductImage:
    photo = next((p for p in product.photos if p.id == image_id), None)
    if photo is None:
        raise not_found()
    return photo


def _renumber(session: Session, actor: Actor, product: Product, ordered: list[ProductImage]) -> None:
    for position, photo in enumerate(ordered):
        photo.position = position
    product.photos.sort(key=lambda p: p.position)
    _changed(session, actor, product)
