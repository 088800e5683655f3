"""Product photos through the API: what is stored is clean, what is refused leaves nothing, another
shop's photo is not there, and the order and the cover are the merchant's to choose."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image
from sqlalchemy import func, select

from shangliao.catalog.models import ProductImage
from shangliao.chat.attachments import INCOMING
from tests.support.catalog import make_product
from tests.support.customers import make_customer
from tests.test_console import HTMX, sign_in


def jpeg_with_gps(width: int = 40, height: int = 20, *, orientation: int = 6) -> bytes:
    """A phone photo: its EXIF says where it was taken and that it must be turned to stand upright."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneMaker"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (30.0, 15.0, 36.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (120.0, 9.0, 18.0)
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "JPEG", exif=exif)
    return out.getvalue()


def png(width: int = 12, height: int = 8, colour=(20, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A few hundred bytes whose header promises 900 million pixels: gigabytes once decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )


def upload(shop, product_id: int, data: bytes, name: str = "photo.jpg", **fields):
    return shop.api.post(f"/api/v1/products/{product_id}/images", files={"file": (name, data)}, data=fields)


def stored(runtime, shop) -> dict:
    """Every trace an upload could leave: rows, files in the shop's folder, half-received files."""
    uploads: Path = runtime.settings.uploads_dir
    with runtime.db.read() as session:
        rows = session.scalar(select(func.count(ProductImage.id)).where(ProductImage.shop_id == shop.id))
    folder = uploads / str(shop.id)
    return {
        "rows": rows,
        "files": sorted(p.name for p in folder.iterdir()) if folder.exists() else [],
        "incoming": sorted(p.name for p in (uploads / INCOMING).glob("*")),
    }


NOTHING = {"rows": 0, "files": [], "incoming": []}


def photo_ids(shop, product_id: int) -> list[int]:
    return [p["id"] for p in shop.api.get(f"/api/v1/products/{product_id}").json()["photos"]]


@pytest.fixture
def product(runtime, shop):
    return make_product(runtime, shop, name="连衣裙", options=["颜色"])


def test_a_phone_photo_is_stored_upright_without_its_gps_position(runtime, shop, product):
    # Given a photo whose EXIF holds where it was taken (and that it was shot sideways)
    original = jpeg_with_gps(40, 20)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)

    # When the merchant uploads it
    r = upload(shop, product.product_id, original)

    # Then the stored photo and its thumbnail carry no EXIF at all, and stand upright
    assert r.status_code == 201, r.text
    photo = r.json()
    assert photo["cover"] is True and (photo["width"], photo["height"]) == (20, 40)
    for url in (photo["url"], photo["thumbnail_url"]):
        served = shop.api.get(url)
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/jpeg"
        assert served.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in served.headers["content-security-policy"]
        image = Image.open(io.BytesIO(served.content))
        assert image.size == (20, 40)
        assert not image.getexif(), dict(image.getexif())
        assert b"PhoneMaker" not in served.content and b"GPS" not in served.content
    assert sorted(stored(runtime, shop)["files"]) and stored(runtime, shop)["incoming"] == []


@pytest.mark.parametrize(
    ("data", "name", "status", "code"),
    [
        (b"%PDF-1.4\n1 0 obj\n", "catalogue.pdf", 422, "product_image.not_image"),
        (b"just some words\n", "photo.jpg", 422, "product_image.not_image"),
        (png_bomb(), "bomb.png", 422, "product_image.too_many_pixels"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 64, "broken.jpg", 422, "product_image.unreadable"),
    ],
    ids=["pdf", "text", "decompression-bomb", "broken-jpeg"],
)
def test_what_is_not_a_usable_photo_is_refused_and_nothing_is_stored(
    runtime, shop, product, data, name, status, code
):
    r = upload(shop, product.product_id, data, name)

    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert r.json()["error"]["message"]
    assert stored(runtime, shop) == NOTHING


def test_an_oversized_photo_is_refused_and_nothing_is_stored(runtime, shop, product, monkeypatch):
    monkeypatch.setattr(runtime.settings, "max_upload_bytes", 4096)

    r = upload(shop, product.product_id, jpeg_with_gps(400, 400) + b"\0" * 5000)

    assert r.status_code == 413 and r.json()["error"]["code"] == "attachment.too_large"
    assert stored(runtime, shop) == NOTHING


def test_another_shops_photo_is_not_found(shop, other_shop, product):
    photo = upload(shop, product.product_id, png()).json()

    for method, path in [
        ("GET", photo["url"]),
        ("GET", photo["thumbnail_url"]),
        ("POST", f"/api/v1/product-images/{photo['id']}/cover"),
        ("DELETE", f"/api/v1/product-images/{photo['id']}"),
    ]:
        r = other_shop.api.request(method, path)
        assert r.status_code == 404 and r.json()["error"]["code"] == "product_image.not_found", (method, path)
    assert (
        other_shop.api.patch(f"/api/v1/product-images/{photo['id']}", json={"variant_id": None}).status_code
        == 404
    )
    assert shop.api.get(photo["url"]).status_code == 200  # still there for its own shop


def test_photos_are_reordered_and_a_cover_is_chosen_through_the_api(runtime, shop, product):
    ids = [upload(shop, product.product_id, png(colour=(i * 40, 0, 0))).json()["id"] for i in range(3)]

    # When the third becomes the cover
    after_cover = shop.api.post(f"/api/v1/product-images/{ids[2]}/cover")
    assert after_cover.status_code == 200
    assert [p["id"] for p in after_cover.json()["photos"]] == [ids[2], ids[0], ids[1]]
    assert [p["cover"] for p in after_cover.json()["photos"]] == [True, False, False]

    # When the merchant puts them in another order
    reordered = shop.api.put(
        f"/api/v1/products/{product.product_id}/images/order", json={"image_ids": [ids[1], ids[0], ids[2]]}
    )
    assert reordered.status_code == 200
    assert photo_ids(shop, product.product_id) == [ids[1], ids[0], ids[2]]

    # An order that leaves a photo out is refused and changes nothing
    bad = shop.api.put(f"/api/v1/products/{product.product_id}/images/order", json={"image_ids": [ids[0]]})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "product_image.order_mismatch"
    assert photo_ids(shop, product.product_id) == [ids[1], ids[0], ids[2]]

    # When the cover is deleted, the next one is the cover and its files are gone
    files_before = len(stored(runtime, shop)["files"])
    assert shop.api.delete(f"/api/v1/product-images/{ids[1]}").status_code == 204
    photos = shop.api.get(f"/api/v1/products/{product.product_id}").json()["photos"]
    assert [p["id"] for p in photos] == [ids[0], ids[2]] and photos[0]["cover"]
    assert len(stored(runtime, shop)["files"]) == files_before - 2


def test_a_photo_is_tied_to_a_variant_of_its_product_only(shop, product, runtime):
    other = make_product(runtime, shop, name="别的")
    photo = upload(shop, product.product_id, png(), variant_id=str(product.variant_ids[1])).json()
    assert photo["variant_id"] == product.variant_ids[1]

    r = shop.api.patch(f"/api/v1/product-images/{photo['id']}", json={"variant_id": other.variant_id})
    assert r.status_code == 404 and r.json()["error"]["code"] == "variant.not_found"


def test_a_product_holds_at_most_nine_photos(runtime, shop, product):
    for _ in range(9):
        assert upload(shop, product.product_id, png()).status_code == 201
    before = stored(runtime, shop)

    r = upload(shop, product.product_id, png())

    assert r.status_code == 422 and r.json()["error"]["code"] == "product_image.too_many"
    assert stored(runtime, shop) == before


def test_a_customer_sees_the_photos_of_a_product_on_sale_only(shop, anon, product):
    photo = upload(shop, product.product_id, png()).json()
    public = shop.api.get(f"/api/v1/products/{product.product_id}").json()
    share = anon.get(f"/s/{shop.slug}/p/{public['share_token']}")
    srcs = [
        part.split('"')[0] for part in share.text.split('src="')[1:] if part.startswith("/api/v1/photos/")
    ]
    assert srcs, share.text
    assert anon.get(srcs[0]).status_code == 200

    # When the product goes off sale, its photos are no longer public
    shop.api.patch(f"/api/v1/products/{product.product_id}", json={"active": False})
    assert anon.get(srcs[0]).status_code == 404
    assert shop.api.get(photo["thumbnail_url"]).status_code == 200


def test_the_new_order_picker_shows_the_variants_photo_or_else_the_cover(app, shop, product):
    upload(shop, product.product_id, png(colour=(200, 0, 0)))  # the cover, red
    upload(shop, product.product_id, png(colour=(0, 0, 200)), variant_id=str(product.variant_ids[1]))
    console = sign_in(app, shop)

    html = console.post("/orders/new/products", data={"pq": "连衣裙"}, headers=HTMX).text

    rows = {row.split('data-sku="')[1].split('"')[0]: row for row in html.split("<tr")[1:]}

    def shown(row: str) -> tuple[int, ...]:
        src = row.split('class="pick-thumb" src="')[1].split('"')[0]
        return Image.open(io.BytesIO(console.get(src).content)).convert("RGB").getpixel((1, 1))

    assert shown(rows[product.skus[0]])[0] > 150  # the cover
    assert shown(rows[product.skus[1]])[2] > 150  # the blue variant's own photo


def test_on_the_product_page_a_photo_is_tied_to_a_variant_and_back(app, shop, product):
    photo = upload(shop, product.product_id, png()).json()
    console = sign_in(app, shop)
    url = f"/products/{product.product_id}/photos/{photo['id']}/variant"

    page = console.post(url, data={"variant_id": str(product.variant_ids[1])}, headers=HTMX)
    assert page.status_code == 200 and f'value="{product.variant_ids[1]}" selected>颜色2<' in page.text
    assert photo_ids(shop, product.product_id) == [photo["id"]]
    assert (
        shop.api.get(f"/api/v1/products/{product.product_id}").json()["photos"][0]["variant_id"]
        == (product.variant_ids[1])
    )

    console.post(url, data={"variant_id": ""}, headers=HTMX)
    assert shop.api.get(f"/api/v1/products/{product.product_id}").json()["photos"][0]["variant_id"] is None


def test_a_product_card_in_chat_shows_the_cover(runtime, shop, anon, product):
    upload(shop, product.product_id, png(colour=(200, 0, 0)))
    cover = upload(shop, product.product_id, png(colour=(0, 0, 200))).json()
    shop.api.post(f"/api/v1/product-images/{cover['id']}/cover")
    customer_id, _ = make_customer(runtime, shop)
    conversation = shop.api.post(f"/api/v1/customers/{customer_id}/conversation").json()

    card = shop.api.post(
        f"/api/v1/conversations/{conversation['id']}/messages",
        json={"kind": "product_card", "product_id": product.product_id},
    ).json()

    # kept with the conversation as it was sent (tests/test_fix_live.py: the customer's side)
    shown = shop.api.get(f"/api/v1/attachments/{card['data']['photo']['attachment_id']}")
    assert shown.status_code == 200 and shown.headers["x-content-type-options"] == "nosniff"
    assert Image.open(io.BytesIO(shown.content)).convert("RGB").getpixel((1, 1))[2] > 150


def test_on_the_product_page_a_refused_upload_says_why_in_chinese_and_stores_nothing(
    app, runtime, shop, product
):
    console = sign_in(app, shop)

    r = console.post(
        f"/products/{product.product_id}/photos", files={"file": ("价目表.pdf", b"%PDF-1.4\n")}, headers=HTMX
    )

    assert r.status_code == 422 and r.headers["hx-retarget"] == "#toast"
    assert "商品图片须为 JPEG、PNG、GIF 或 WebP 格式的图片" in r.text
    assert stored(runtime, shop) == NOTHING
