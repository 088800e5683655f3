"""Attachments: photos and files both ways, the type judged from the bytes, the size limit with
nothing left behind, idempotent retries, who may download what, safe download headers, and photos
sent with an order as its "product photos" checkpoint."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shangliao.chat.attachment_api import content_disposition
from shangliao.chat.attachment_types import TYPES, display_name
from shangliao.chat.attachments import INCOMING, stored_path
from shangliao.chat.models import Attachment, Message
from shangliao.chat.verify import verify
from tests.support.catalog import make_product
from tests.support.customers import make_customer
from tests.support.orders import make_order

# --- sample files, made byte by byte ----------------------------------------------------------------------


def png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def jpeg(width: int, height: int) -> bytes:
    """A camera-like JPEG header: an EXIF block first, then the frame that carries the size."""
    exif = b"\xff\xe1" + struct.pack(">H", 2 + 300) + b"Exif\x00\x00" + b"\x00" * 294
    frame = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x22\x00" * 3
    return (
        b"\xff\xd8" + exif + frame + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + b"\x00" * 32 + b"\xff\xd9"
    )


def office(main_part: str, extra: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("[Content_Types].xml", main_part, *extra):
            archive.writestr(name, "<xml/>")
    return buffer.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
GIF = b"GIF89a" + struct.pack("<HH", 5, 4) + b"\x00\x00\x00" + b"\x3b"
WEBP = (
    b"RIFF"
    + struct.pack("<I", 30)
    + b"WEBPVP8X"
    + struct.pack("<I", 10)
    + b"\x00" * 4
    + (639).to_bytes(3, "little")
    + (479).to_bytes(3, "little")
)
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64
TEXT = "订单号,商品,数量\n20260301001,红色T恤 M,2\n".encode()


# --- helpers ----------------------------------------------------------------------------------------------


@pytest.fixture
def guest(app, shop):
    """A customer on the shop page (their own client, holding their visitor cookie)."""
    client = TestClient(app, raise_server_exceptions=False)
    r = client.post(f"/s/{shop.slug}/api/visitor", json={"name": "小红", "phone": "13700001234"})
    assert r.status_code == 200, r.text
    client.customer_id, client.conversation_id = r.json()["customer_id"], r.json()["conversation_id"]
    return client


def staff_upload(shop, conversation_id: int, content: bytes, name: str = "photo.png", **form):
    return shop.api.post(
        f"/api/v1/conversations/{conversation_id}/attachments",
        files={"file": (name, content, "application/octet-stream")},
        data=form,
    )


def guest_upload(guest, shop, content: bytes, name: str = "photo.png", **form):
    return guest.post(
        f"/s/{shop.slug}/api/attachments", files={"file": (name, content, "image/png")}, data=form
    )


def sent(r) -> dict:
    assert r.status_code == 201, r.text
    return r.json()


def stored(runtime, shop) -> dict:
    """Everything an upload could leave behind in the shop: rows, messages, files on disk."""
    uploads: Path = runtime.settings.uploads_dir
    with runtime.db.read() as session:
        rows = session.scalar(select(func.count(Attachment.id)).where(Attachment.shop_id == shop.id))
        messages = session.scalar(select(func.count(Message.id)).where(Message.shop_id == shop.id))
    folder = uploads / str(shop.id)
    return {
        "rows": rows,
        "messages": messages,
        "files": sorted(p.name for p in folder.iterdir()) if folder.exists() else [],
        "incoming": sorted(p.name for p in (uploads / INCOMING).glob("*")),
    }


NOTHING = {"rows": 0, "messages": 0, "files": [], "incoming": []}


# --- round trips ------------------------------------------------------------------------------------------


def test_a_photo_from_the_shop_reaches_the_customer(runtime, shop, guest):
    picture = png(3, 2)

    message = sent(staff_upload(shop, guest.conversation_id, picture, "实拍图.png"))

    assert message["kind"] == "image" and message["sender_type"] == "staff"
    data = message["data"]
    assert data["name"] == "实拍图.png" and data["mime"] == "image/png" and data["size"] == len(picture)
    assert (data["width"], data["height"]) == (3, 2)
    listed = guest.get(f"/s/{shop.slug}/api/messages").json()
    assert [m["data"].get("attachment_id") for m in listed] == [data["attachment_id"]]
    r = guest.get(f"/s/{shop.slug}/api/attachments/{data['attachment_id']}")
    assert r.status_code == 200 and r.content == picture
    assert r.headers["content-type"] == "image/png" and r.headers["content-disposition"].startswith("inline;")
    assert verify(runtime.db, runtime.keyring, shop.id) == []


def test_a_swapped_or_deleted_file_breaks_the_chain_even_with_its_row_rewritten(runtime, shop, guest):
    # Given a photo from the customer and a PDF from the shop, both verified intact
    picture = png(3, 2)
    photo = sent(guest_upload(guest, shop, picture, "破损.png"))
    invoice = sent(staff_upload(shop, guest.conversation_id, PDF, "发票.pdf"))
    uploads = runtime.settings.uploads_dir
    assert photo["data"]["sha256"] == hashlib.sha256(picture).hexdigest()
    assert verify(runtime.db, runtime.keyring, shop.id, uploads_dir=uploads) == []

    # When someone with the disk and the database swaps the photo for another of the same size
    # (fixing its row's checksum too) and deletes the PDF
    forged = bytes(reversed(picture))
    with runtime.db.write() as session:
        rows = {a.id: a for a in session.scalars(select(Attachment).where(Attachment.shop_id == shop.id))}
        stored_path(uploads, rows[photo["data"]["attachment_id"]]).write_bytes(forged)
        rows[photo["data"]["attachment_id"]].sha256 = hashlib.sha256(forged).hexdigest()
        stored_path(uploads, rows[invoice["data"]["attachment_id"]]).unlink()

    # Then verify reports both messages, and the chain of messages itself still holds
    found = verify(runtime.db, runtime.keyring, shop.id, uploads_dir=uploads)
    assert [(b.seq, b.problem) for b in found] == [
        (photo["seq"], "attachment changed"),
        (invoice["seq"], "attachment missing"),
    ]
    assert verify(runtime.db, runtime.keyring, shop.id) == []


def test_a_file_from_the_customer_reaches_the_shop(runtime, shop, guest):
    message = sent(guest_upload(guest, shop, PDF, "发票.pdf", client_id="up-0000001"))

    assert message["kind"] == "file" and message["sender_type"] == "customer"
    r = shop.api.get(f"/api/v1/attachments/{message['data']['attachment_id']}")
    assert r.status_code == 200 and r.content == PDF
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith("attachment;")
    inbox = shop.api.get(f"/api/v1/conversations/{guest.conversation_id}/messages").json()
    assert inbox[-1]["data"]["name"] == "发票.pdf" and inbox[-1]["client_id"] == "up-0000001"


def test_images_carry_their_size_read_from_the_header(shop, guest):
    photos = {"jpeg": jpeg(4032, 3024), "gif": GIF, "webp": WEBP}

    shown = {
        label: sent(staff_upload(shop, guest.conversation_id, content, f"p.{label}"))["data"]
        for label, content in photos.items()
    }

    assert {label: (d["mime"], d["width"], d["height"]) for label, d in shown.items()} == {
        "jpeg": ("image/jpeg", 4032, 3024),
        "gif": ("image/gif", 5, 4),
        "webp": ("image/webp", 640, 480),
    }


# --- the type, from the bytes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("cute.jpg", b"<!DOCTYPE html><html><script>document.cookie</script></html>"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("logo.png", b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>'),
        ("notes.txt", b"  \n<html><body onload=alert(1)>"),
        ("readme.txt", "您好 <script>alert(1)</script>".encode()),
        ("invoice.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"),
        ("tool", b"\x7fELF\x02\x01\x01" + b"\x00" * 40),
        ("run.txt", b"#!/bin/sh\nrm -rf ~\n"),
        ("data.bin", bytes(range(256))),
        ("photos.zip", office("photos/1.jpg")),
        ("macro.docx", office("word/document.xml", ("word/vbaProject.bin",))),
        ("broken.docx", b"PK\x03\x04not really a zip"),
    ],
)
def test_what_is_not_an_allowed_type_is_refused_and_nothing_is_stored(runtime, shop, guest, name, content):
    r = staff_upload(shop, guest.conversation_id, content, name)

    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "attachment.type_refused"
    assert stored(runtime, shop) == NOTHING


def test_an_image_named_as_text_is_judged_by_its_bytes(shop, guest):
    message = sent(guest_upload(guest, shop, png(), "截图.txt"))

    assert message["kind"] == "image"
    assert message["data"]["mime"] == "image/png" and message["data"]["name"] == "截图.png"


@pytest.mark.parametrize(
    ("content", "name", "mime", "shown_as"),
    [
        (office("word/document.xml"), "报价单.docx", TYPES["docx"].mime, "报价单.docx"),
        (office("xl/workbook.xml"), "库存.xlsx", TYPES["xlsx"].mime, "库存.xlsx"),
        (TEXT, "导出.csv", "text/plain; charset=utf-8", "导出.csv"),
        (TEXT, "page.html", "text/plain; charset=utf-8", "page.txt"),
        (MP4, "开箱.mp4", "video/mp4", "开箱.mp4"),
    ],
)
def test_documents_text_and_videos_are_sent_as_files(shop, guest, content, name, mime, shown_as):
    message = sent(staff_upload(shop, guest.conversation_id, content, name))

    assert message["kind"] == "file"
    assert (message["data"]["mime"], message["data"]["name"]) == (mime, shown_as)


def test_an_empty_file_is_refused(runtime, shop, guest):
    r = staff_upload(shop, guest.conversation_id, b"", "empty.txt")

    assert r.status_code == 422 and r.json()["error"]["code"] == "attachment.empty"
    assert stored(runtime, shop) == NOTHING


# --- the size limit ---------------------------------------------------------------------------------------


@pytest.fixture
def small_limit(runtime, monkeypatch) -> int:
    monkeypatch.setattr(runtime.settings, "max_upload_bytes", 4096)
    return 4096


def test_a_file_at_the_limit_is_taken(shop, guest, small_limit):
    message = sent(staff_upload(shop, guest.conversation_id, b"a" * small_limit, "full.txt"))

    assert message["data"]["size"] == small_limit


def test_one_byte_over_the_limit_is_refused_and_nothing_is_stored(runtime, shop, guest, small_limit):
    r = staff_upload(shop, guest.conversation_id, b"a" * (small_limit + 1), "over.txt")

    assert r.status_code == 413 and r.json()["error"]["code"] == "attachment.too_large"
    assert stored(runtime, shop) == NOTHING


def test_an_announced_huge_upload_is_refused_before_it_is_read(runtime, shop, guest, small_limit):
    r = shop.api.post(
        f"/api/v1/conversations/{guest.conversation_id}/attachments",
        content=b"x" * (small_limit * 8),
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )

    assert r.status_code == 413 and r.json()["error"]["code"] == "attachment.too_large"
    assert stored(runtime, shop) == NOTHING


def test_a_streamed_upload_without_a_length_is_cut_off_at_the_limit(runtime, shop, guest, small_limit):
    # Given a client that sends the file in chunks and never says how long it is
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()

    def body():
        yield head
        for _ in range(64):
            yield b"a" * 1024
        yield f"\r\n--{boundary}--\r\n".encode()

    # When it streams well past the limit
    r = guest.post(
        f"/s/{shop.slug}/api/attachments",
        content=body(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )

    # Then it is refused and nothing of it stays
    assert r.status_code == 413 and r.json()["error"]["code"] == "attachment.too_large"
    assert stored(runtime, shop) == NOTHING


# --- retries, forms -----------------------------------------------------------------------------------------


def test_a_retried_upload_returns_the_first_message_and_stores_one_file(runtime, shop, guest):
    first = sent(staff_upload(shop, guest.conversation_id, png(), client_id="photo-retry-1"))
    again = sent(staff_upload(shop, guest.conversation_id, png(), client_id="photo-retry-1"))

    assert again["id"] == first["id"] and again["replayed"] is True
    assert again["data"]["attachment_id"] == first["data"]["attachment_id"]
    left = stored(runtime, shop)
    assert left["rows"] == 1 and left["messages"] == 1 and len(left["files"]) == 1 and left["incoming"] == []


def test_retries_racing_each_other_still_store_one_file(runtime, shop, guest):
    # Given four copies of one upload in flight at once (a flaky phone network resending)
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda _: staff_upload(shop, guest.conversation_id, png(), client_id="photo-race-1"), range(4)
            )
        )

    # Then they all answer with the same message, and one file is kept
    assert {r.status_code for r in answers} == {201}
    assert len({r.json()["id"] for r in answers}) == 1
    left = stored(runtime, shop)
    assert left["rows"] == 1 and len(left["files"]) == 1 and left["incoming"] == []


@pytest.mark.parametrize(
    ("form", "files", "code"),
    [
        ({"colour": "red"}, {"file": ("a.png", png())}, "attachment.field_unknown"),
        ({}, {"photo": ("a.png", png())}, "attachment.field_unknown"),
        ({"client_id": "short"}, {"file": ("a.png", png())}, "request.invalid"),
        ({"order_id": "abc"}, {"file": ("a.png", png())}, "request.invalid"),
        ({"client_id": "only-fields-1"}, None, "attachment.form_invalid"),
    ],
)
def test_a_bad_form_is_refused_and_nothing_is_stored(runtime, shop, guest, form, files, code):
    r = shop.api.post(f"/api/v1/conversations/{guest.conversation_id}/attachments", data=form, files=files)

    assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text
    assert stored(runtime, shop) == NOTHING


def test_a_body_cut_short_is_not_stored(runtime, shop, guest):
    head = b'--cut\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'

    r = shop.api.post(
        f"/api/v1/conversations/{guest.conversation_id}/attachments",
        content=head + png()[:20],
        headers={"Content-Type": "multipart/form-data; boundary=cut"},
    )

    assert r.status_code == 422 and r.json()["error"]["code"] == "attachment.form_invalid"
    assert stored(runtime, shop) == NOTHING


def test_a_json_body_is_not_an_upload(shop, guest):
    r = shop.api.post(f"/api/v1/conversations/{guest.conversation_id}/attachments", json={"file": "x"})

    assert r.status_code == 422 and r.json()["error"]["code"] == "attachment.form_invalid"


def test_uploads_per_person_are_rate_limited(shop, guest):
    for i in range(30):
        sent(staff_upload(shop, guest.conversation_id, f"第{i}条".encode(), "n.txt"))

    refused = staff_upload(shop, guest.conversation_id, b"one more", "n.txt")

    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate.limited"
    assert int(refused.headers["retry-after"]) >= 1


def test_an_upload_from_another_site_with_the_visitor_cookie_is_refused(runtime, shop, guest):
    r = guest.post(
        f"/s/{shop.slug}/api/attachments",
        files={"file": ("a.png", png())},
        headers={"Origin": "https://evil.example"},
    )

    assert r.status_code == 403 and r.json()["error"]["code"] == "auth.cross_origin"
    assert stored(runtime, shop) == NOTHING


# --- who may download -----------------------------------------------------------------------------------


def test_another_shop_gets_404_for_the_file_and_the_upload(runtime, shop, other_shop, guest):
    photo = sent(staff_upload(shop, guest.conversation_id, png()))["data"]

    download = other_shop.api.get(f"/api/v1/attachments/{photo['attachment_id']}")
    upload = staff_upload(other_shop, guest.conversation_id, png())

    assert download.status_code == 404 and upload.status_code == 404
    assert stored(runtime, shop)["rows"] == 1 and stored(runtime, other_shop) == NOTHING


def test_another_customer_and_a_visitor_of_another_shop_get_404(app, shop, other_shop, guest):
    photo = sent(staff_upload(shop, guest.conversation_id, png()))["data"]
    stranger = TestClient(app, raise_server_exceptions=False)
    stranger.post(f"/s/{shop.slug}/api/visitor", json={"name": "小明", "phone": "13700005678"})
    elsewhere = TestClient(app, raise_server_exceptions=False)
    elsewhere.post(f"/s/{other_shop.slug}/api/visitor", json={"name": "小红", "phone": "13700001234"})

    theirs = stranger.get(f"/s/{shop.slug}/api/attachments/{photo['attachment_id']}")
    other_shop_page = elsewhere.get(f"/s/{other_shop.slug}/api/attachments/{photo['attachment_id']}")
    anonymous = TestClient(app).get(f"/s/{shop.slug}/api/attachments/{photo['attachment_id']}")

    assert theirs.status_code == 404 and other_shop_page.status_code == 404
    assert anonymous.status_code == 401


def test_a_new_device_does_not_get_files_sent_before_it_joined(app, shop, guest):
    photo = sent(staff_upload(shop, guest.conversation_id, png()))["data"]
    device = TestClient(app, raise_server_exceptions=False)
    device.post(f"/s/{shop.slug}/api/visitor", json={"name": "小红", "phone": "13700001234"})

    r = device.get(f"/s/{shop.slug}/api/attachments/{photo['attachment_id']}")

    assert r.status_code == 404


def test_a_photo_the_shop_recalled_is_kept_for_the_shop_only(shop, guest):
    message = sent(staff_upload(shop, guest.conversation_id, png(), "发错了.png"))
    url = f"/attachments/{message['data']['attachment_id']}"

    r = shop.api.post(f"/api/v1/conversations/{guest.conversation_id}/messages/{message['id']}/recall")

    assert r.status_code == 200, r.text
    assert guest.get(f"/s/{shop.slug}/api{url}").status_code == 404
    assert shop.api.get(f"/api/v1{url}").status_code == 200


# --- download headers --------------------------------------------------------------------------------------


def test_downloads_are_never_sniffed_or_run(shop, guest):
    text = sent(guest_upload(guest, shop, TEXT, "订单 明细.csv"))["data"]
    photo = sent(guest_upload(guest, shop, png(), "a.png"))["data"]

    as_file = shop.api.get(f"/api/v1/attachments/{text['attachment_id']}")
    as_image = shop.api.get(f"/api/v1/attachments/{photo['attachment_id']}")

    for r in (as_file, as_image):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-security-policy"] == "sandbox; default-src 'none'"
        assert r.headers["cache-control"].startswith("private")
    assert as_file.headers["content-disposition"] == (
        "attachment; filename=\"download.csv\"; filename*=UTF-8''%E8%AE%A2%E5%8D%95%20%E6%98%8E%E7%BB%86.csv"
    )
    assert as_file.headers["content-type"] == "text/plain; charset=utf-8"
    again = shop.api.get(
        f"/api/v1/attachments/{photo['attachment_id']}", headers={"If-None-Match": as_image.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""


def test_names_are_cleaned_of_folders_and_tricks():
    png_type, text_type = TYPES["png"], TYPES["text"]

    assert display_name("../../etc/passwd", text_type) == "passwd.txt"
    assert display_name("C:\\Users\\me\\照片.PNG", png_type) == "照片.png"
    assert display_name("invoice\u202egnp.exe", png_type) == "invoicegnp.png"
    assert display_name("a\x00b\r\nc.txt", text_type) == "abc.txt"
    assert display_name(".", png_type) == "image.png"
    assert display_name(None, text_type) == "file.txt"
    assert len(display_name("长" * 500 + ".png", png_type)) == 104
    assert (
        content_disposition("inline", "a;b.png") == "inline; filename=\"a_b.png\"; filename*=UTF-8''a%3Bb.png"
    )


# --- orders -----------------------------------------------------------------------------------------------


@pytest.fixture
def guest_order(runtime, shop, guest) -> dict:
    product = make_product(runtime, shop, stock=5)
    return make_order(shop, [(product.variant_id, 1)], customer_id=guest.customer_id)


def test_a_photo_sent_with_an_order_is_its_product_photos_checkpoint(shop, guest, guest_order):
    photo = sent(staff_upload(shop, guest.conversation_id, png(), order_id=str(guest_order["id"])))
    sheet = sent(staff_upload(shop, guest.conversation_id, PDF, "单据.pdf", order_id=str(guest_order["id"])))

    assert photo["data"]["order_id"] == guest_order["id"] and photo["data"]["checkpoint"] == "photos"
    assert sheet["data"]["order_id"] == guest_order["id"] and "checkpoint" not in sheet["data"]


def test_an_order_of_another_customer_or_shop_is_refused(runtime, shop, other_shop, guest):
    product = make_product(runtime, shop, stock=5)
    someone_id, _ = make_customer(runtime, shop, name="王五", phone="13911112222")
    someone_elses = make_order(shop, [(product.variant_id, 1)], customer_id=someone_id)
    theirs = make_product(runtime, other_shop, stock=5)
    other_shops = make_order(other_shop, [(theirs.variant_id, 1)])

    refused = [
        staff_upload(shop, guest.conversation_id, png(), order_id=str(order["id"]))
        for order in (someone_elses, other_shops)
    ]

    assert [(r.status_code, r.json()["error"]["code"]) for r in refused] == [(404, "order.not_found")] * 2
    assert stored(runtime, shop)["rows"] == 0 and stored(runtime, shop)["files"] == []


def test_a_customer_cannot_link_an_order(runtime, shop, guest, guest_order):
    r = guest_upload(guest, shop, png(), order_id=str(guest_order["id"]))

    assert r.status_code == 422 and r.json()["error"]["code"] == "attachment.field_unknown"
    assert stored(runtime, shop)["rows"] == 0
