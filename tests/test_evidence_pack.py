"""An order's evidence pack for a dispute (issue 15, "Printable documents"): the order, its timeline,
the dispute checkpoints, the chat with its pictures and the chain check's result, in a signed PDF
that ``shangliao chat verify-pack`` accepts exactly as made and refuses with one byte changed.
On both databases."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib

import orjson
import pytest
from PIL import Image
from sqlalchemy import delete, update
from typer.testing import CliRunner

from shangliao.chat.models import Attachment, Message
from shangliao.cli.main import app
from shangliao.config import get_settings
from shangliao.core.crypto import Keyring
from shangliao.documents import evidence, signing
from tests.support.catalog import make_product
from tests.support.chat import customer_says
from tests.support.customers import make_customer
from tests.support.orders import act, make_order
from tests.support.pdf import images_of, text_of
from tests.support.team import make_member


@pytest.fixture
def water(runtime, shop):
    return make_product(runtime, shop, name="矿泉水", price=2400, stock=30)


@pytest.fixture
def customer(runtime, shop) -> int:
    customer_id, _ = make_customer(runtime, shop, name="李四", phone="13900001111")
    return customer_id


@pytest.fixture
def conversation(shop, customer) -> dict:
    r = shop.api.post(f"/api/v1/customers/{customer}/conversation")
    assert r.status_code == 200, r.text
    return r.json()


def photo(orientation: int = 1) -> bytes:
    """A camera-sized picture of the packed goods (two colours, so it is no blank square), its EXIF
    saying how the camera was held (6: turned a quarter, as a phone held upright writes it)."""
    image = Image.new("RGB", (1200, 900), (200, 30, 30))
    image.paste((30, 30, 200), (600, 0, 1200, 900))
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def disputed_order(runtime, shop, water, customer, conversation) -> dict:
    """A confirmed order its customer chatted about, with its details and a photo sent as checkpoints."""
    customer_says(runtime, shop, conversation, "老板，要两箱水，周六前送到")
    order = act(shop, make_order(shop, [(water.variant_id, 2)], customer_id=customer), "confirm")
    sent = shop.api.post(f"/api/v1/orders/{order['id']}/checkpoints/details")
    assert sent.status_code == 201, sent.text
    upload = shop.api.post(
        f"/api/v1/conversations/{conversation['id']}/attachments",
        files={"file": ("打包好的货.jpg", photo(), "image/jpeg")},
        data={"order_id": str(order["id"])},
    )
    assert upload.status_code == 201, upload.text
    customer_says(runtime, shop, conversation, "收到了，箱子是破的！")
    return order


def pack_of(client, order_id: int) -> tuple[bytes, bytes, str]:
    """The downloaded pack's PDF, its signature, and the SHA-256 the answer announced."""
    r = client.get(f"/api/v1/orders/{order_id}/evidence-pack")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    found = signing.unpack(r.content)
    assert found is not None
    return found[0], found[1], r.headers["X-Evidence-SHA256"]


def squeezed(text: str) -> str:
    return "".join(text.split())


def test_the_pack_holds_the_order_its_history_the_checkpoints_and_the_chat(
    runtime, shop, water, customer, conversation, tmp_path
):
    # given an order disputed after a chat, with checkpoints sent
    order = disputed_order(runtime, shop, water, customer, conversation)

    # when the owner makes its evidence pack
    data, signature, digest = pack_of(shop.api, order["id"])

    # then it holds the order, its timeline, the checkpoints, the chain's verdict and the chat
    text = squeezed(text_of(data, tmp_path))
    for expected in (
        "证据包",
        order["number"],
        "矿泉水",
        "¥48.00",  # two at ¥24
        "订单动态",
        "创建订单",  # the timeline's first row
        "防纠纷留证",
        "订单信息已发给客户核对",
        "发货前已发商品照片",
        "已发送",
        "聊天记录校验",
        "完整：1个会话中的4条消息",
        "老板，要两箱水，周六前送到",
        "收到了，箱子是破的！",
        "打包好的货.jpg",
        "麻烦您核对一下订单",  # the details checkpoint as the customer's page showed it
    ):
        assert squeezed(expected) in text, expected
    assert "未到时候" in text  # the tracking number and the inspection reminder: not before shipping
    # and the photo is printed, scaled down from the camera's 1200 × 900
    assert (800, 600) in images_of(data, tmp_path)
    # and the signature is of these very bytes, announced and recorded
    doc = orjson.loads(signature)
    assert (
        doc["sha256"] == digest and doc["order_id"] == order["id"] and doc["order_number"] == order["number"]
    )
    assert signing.verify(runtime.keyring, data, signature).ok
    (entry,) = shop.api.get("/api/v1/audit", params={"act": "documents.evidence_pack"}).json()["items"]
    assert (entry["target_id"], entry["data"]) == (order["id"], {"sha256": digest, "full": True})


def test_one_changed_byte_or_a_borrowed_signature_fails_the_check(
    runtime, shop, water, customer, conversation
):
    # given two orders' packs
    order = disputed_order(runtime, shop, water, customer, conversation)
    other = make_order(shop, [(water.variant_id, 1)], customer_id=customer)
    data, signature, _ = pack_of(shop.api, order["id"])
    other_data, other_signature, _ = pack_of(shop.api, other["id"])

    # then a byte changed anywhere in the PDF fails it
    for at in (len(data) // 2, len(data) - 10):
        tampered = bytearray(data)
        tampered[at] ^= 0x01
        verdict = signing.verify(runtime.keyring, bytes(tampered), signature)
        assert (verdict.ok, verdict.message) == (False, signing.CHANGED)
    # and so does a signature moved onto another order's pack, or rewritten to match it
    assert signing.verify(runtime.keyring, other_data, signature).message == signing.CHANGED
    forged = orjson.loads(signature) | {"sha256": orjson.loads(other_signature)["sha256"]}
    assert signing.verify(runtime.keyring, other_data, orjson.dumps(forged)).message == signing.FORGED
    # and a signature made under another installation's key
    assert signing.verify(Keyring.from_master(b"\x11" * 32), data, signature).message == signing.FORGED
    assert signing.verify(runtime.keyring, data, b"{}").message == signing.NOT_A_SIGNATURE


@pytest.mark.parametrize(
    "field, value",
    [
        ("order_number", "26010100001"),
        ("signed_at", "2020-01-01T00:00:00+00:00"),  # backdated
        ("key_id", "00" * 8),
        ("shop_id", 8),
        ("order_id", 43),
        ("sha256", hashlib.sha256(b"another PDF").hexdigest()),  # with that PDF: see below
        ("made_by", "someone"),  # a field added, to be vouched for
    ],
)
def test_every_field_the_verdict_vouches_for_is_signed(field, value):
    # given a pack signed by an installation, and its signature file with one field rewritten
    keyring = Keyring.from_master(b"\x22" * 32)
    data = b"%PDF-1.4 an evidence pack"
    pack = signing.sign(keyring, 7, 42, "26112600042", data)
    assert signing.verify(keyring, data, pack.signature_bytes()).ok
    tampered = orjson.dumps(pack.signature | {field: value})
    pdf = b"another PDF" if field == "sha256" else data

    # when it is checked, then it is refused as not signed so
    verdict = signing.verify(keyring, pdf, tampered)
    assert (verdict.ok, verdict.message) == (False, signing.FORGED)


def test_a_signature_file_of_another_kind_is_not_read_as_one():
    keyring = Keyring.from_master(b"\x22" * 32)
    data = b"%PDF-1.4 an evidence pack"
    signature = signing.sign(keyring, 7, 42, "26112600042", data).signature
    # a field missing, or of another type
    for field in signature:
        missing = orjson.dumps({k: v for k, v in signature.items() if k != field})
        assert signing.verify(keyring, data, missing).message == signing.NOT_A_SIGNATURE, field
    for field, value in (("shop_id", "7"), ("order_id", 42.0), ("version", True), ("signature", "zz")):
        retyped = orjson.dumps(signature | {field: value})
        assert signing.verify(keyring, data, retyped).message == signing.NOT_A_SIGNATURE, field
    # another format, version or algorithm (the first version signed only a few of the fields)
    for field, value in (("format", "other"), ("version", 1), ("algorithm", "none")):
        other = orjson.dumps(signature | {field: value})
        assert signing.verify(keyring, data, other).message == signing.NOT_A_SIGNATURE, field
    assert signing.verify(keyring, data, b"[]").message == signing.NOT_A_SIGNATURE


def test_the_command_line_checks_a_downloaded_pack(
    runtime, shop, water, customer, conversation, tmp_path, monkeypatch
):
    # given a downloaded pack, and an operator on the shop's server (its key file)
    order = disputed_order(runtime, shop, water, customer, conversation)
    download = shop.api.get(f"/api/v1/orders/{order['id']}/evidence-pack").content
    (tmp_path / "pack.zip").write_bytes(download)
    with zipfile.ZipFile(io.BytesIO(download)) as z:
        pdf_name, sig_name = sorted(z.namelist())
        z.extractall(tmp_path)
    tampered = bytearray((tmp_path / pdf_name).read_bytes())
    tampered[-100] ^= 0x20
    (tmp_path / "changed.pdf").write_bytes(bytes(tampered))

    def shangliao(*args: str, key: str = "00" * 32):
        monkeypatch.setenv("SHANGLIAO_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("SHANGLIAO_SECRET_KEY", key)  # the test runtime's key
        monkeypatch.setenv("LANG", "C.UTF-8")
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(app, ["chat", "verify-pack", *args])
        finally:
            get_settings.cache_clear()

    # then the zip as downloaded, and its PDF with its signature, verify
    for args in ((str(tmp_path / "pack.zip"),), (str(tmp_path / pdf_name), str(tmp_path / sig_name))):
        result = shangliao(*args)
        assert result.exit_code == 0, result.output
        assert f"Valid: the PDF is exactly the evidence pack of order {order['number']}" in result.output
    # and a changed PDF, another key, or a file that is no pack fail with exit code 1
    changed = shangliao(str(tmp_path / "changed.pdf"), str(tmp_path / sig_name))
    assert changed.exit_code == 1 and "changed after it was signed" in changed.output
    other_key = shangliao(str(tmp_path / "pack.zip"), key="11" * 32)
    assert other_key.exit_code == 1 and "not valid" in other_key.output
    not_a_pack = shangliao(str(tmp_path / pdf_name))
    assert not_a_pack.exit_code == 1 and "not an evidence pack" in not_a_pack.output


def test_an_edited_chat_is_reported_in_the_pack(runtime, shop, water, customer, conversation, tmp_path):
    # given a disputed order whose customer's first message was rewritten in the database
    order = disputed_order(runtime, shop, water, customer, conversation)
    with runtime.db.write() as session:
        session.execute(
            update(Message)
            .where(Message.conversation_id == conversation["id"], Message.seq == 1)
            .values(body="老板，要一箱水")
        )

    # when the pack is made
    data, signature, _ = pack_of(shop.api, order["id"])

    # then it says the history was changed, and where (and the pack itself still verifies)
    text = squeezed(text_of(data, tmp_path))
    assert "发现1处断裂" in text and f"会话{conversation['id']}，第1条消息" in text
    assert "完整：" not in text
    assert signing.verify(runtime.keyring, data, signature).ok


def test_a_conversation_out_of_the_members_scope_is_left_out(
    runtime, shop, water, customer, conversation, tmp_path
):
    # given a member who sees only what is assigned to them, their order, and its chat a colleague's
    order = disputed_order(runtime, shop, water, customer, conversation)
    member = make_member(runtime, shop, permissions=["orders.read", "chat.read"], data_scope="assigned")
    assert (
        shop.api.put(
            f"/api/v1/orders/{order['id']}/assignee", json={"assignee_id": member.staff_id}
        ).status_code
        == 200
    )
    r = shop.api.put(
        f"/api/v1/conversations/{conversation['id']}/assignee", json={"assignee_id": shop.owner_id}
    )
    assert r.status_code == 200, r.text

    # when they make the pack
    data, _, _ = pack_of(member, order["id"])

    # then the order is there, the chat is not, and the pack says why; phones are masked
    text = squeezed(text_of(data, tmp_path))
    assert order["number"] in text and "本证据包未包含聊天记录" in text
    assert "箱子是破的" not in text and "13900001111" not in text


def test_another_shops_order_and_a_member_without_chat_are_refused(
    runtime, shop, other_shop, water, customer, conversation
):
    order = disputed_order(runtime, shop, water, customer, conversation)
    theirs = make_order(other_shop, [(make_product(runtime, other_shop).variant_id, 1)])
    r = shop.api.get(f"/api/v1/orders/{theirs['id']}/evidence-pack")
    assert r.status_code == 404 and r.json()["error"]["code"] == "order.not_found"
    assert shop.api.get("/api/v1/audit", params={"act": "documents.evidence_pack"}).json()["items"] == []
    finance = make_member(runtime, shop, role="finance")
    r = finance.get(f"/api/v1/orders/{order['id']}/evidence-pack")
    assert r.status_code == 403 and r.json()["error"]["details"] == {"permission": "chat.read"}
    no_orders = make_member(runtime, shop, permissions=["chat.read"])
    r = no_orders.get(f"/api/v1/orders/{order['id']}/evidence-pack")
    assert r.status_code == 403 and r.json()["error"]["details"] == {"permission": "orders.read"}


def test_an_order_without_a_chat_says_so(shop, water, tmp_path):
    order = make_order(shop, [(water.variant_id, 1)])
    data, _, _ = pack_of(shop.api, order["id"])
    text = squeezed(text_of(data, tmp_path))
    assert order["number"] in text and text.count("此订单没有与客户的会话。") == 2  # no chain, no transcript


def test_pictures_past_the_packs_bound_are_named_not_printed(
    runtime, shop, water, customer, conversation, tmp_path, monkeypatch
):
    # given a pack that prints one picture at most, and a chat holding two
    monkeypatch.setattr(evidence, "MAX_PICTURES", 1)
    order = disputed_order(runtime, shop, water, customer, conversation)
    more = shop.api.post(
        f"/api/v1/conversations/{conversation['id']}/attachments",
        files={"file": ("第二张.jpg", photo(), "image/jpeg")},
    )
    assert more.status_code == 201, more.text

    # when the pack is made
    data, _, _ = pack_of(shop.api, order["id"])

    # then the first is printed and the second named, with the reason
    assert len(images_of(data, tmp_path)) == 1
    assert "图片第二张.jpg（未打印：每个证据包最多1张图片）" in squeezed(text_of(data, tmp_path))


# --- content of any size, pictures of any size ---------------------------------------------------------


def test_content_taller_than_a_page_flows_onto_the_next_pages(
    runtime, shop, customer, conversation, tmp_path
):
    # given an order of 80 lines (its details checkpoint lists each one), a buyer's message of 250
    # lines and a chat message of 300: each taller than an A4 page, each within its field's limits
    socks = make_product(
        runtime, shop, name="袜子", options=["款"], price=100, stock=5,
        variants=[{"spec": {"款": f"款{n:02d}"}} for n in range(80)],
    )  # fmt: skip
    customer_says(runtime, shop, conversation, "甲\n" * 300)
    lines = [(variant, 1) for variant in socks.variant_ids]
    order = act(shop, make_order(shop, lines, customer_id=customer, remark="乙\n" * 250), "confirm")
    sent = shop.api.post(f"/api/v1/orders/{order['id']}/checkpoints/details")
    assert sent.status_code == 201, sent.text

    # when its evidence pack is made
    data, signature, _ = pack_of(shop.api, order["id"])

    # then each runs on over the pages it needs, every line printed once, nothing cut
    text = text_of(data, tmp_path)
    assert text.count("甲") == 300
    assert text.count("乙") == 2 * 250  # the order's message, and the checkpoint card that showed it
    shown = squeezed(text)
    for n in range(80):  # the checkpoint as the customer saw it: every line of the order
        assert f"袜子款{n:02d}×1：¥1.00" in shown, n
    assert signing.verify(runtime.keyring, data, signature).ok


def png_of_size(width: int, height: int) -> bytes:
    """A real PNG of ``width`` × ``height`` black-and-white pixels, a few KB on disk (a flat picture
    compresses to nothing), that decodes to its whole size: what a huge screenshot costs to open."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = b"\x00" + b"\x00" * ((width + 7) // 8)  # filter byte, then one bit a pixel
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height, 9))
        + chunk(b"IEND", b"")
    )


def test_a_picture_too_large_to_decode_is_named_not_decoded(
    runtime, shop, water, customer, conversation, tmp_path
):
    # given a disputed order whose chat holds, beside the photo, a 6900 × 6900 PNG (47 megapixels:
    # a PNG decodes whole, no fraction of it as a JPEG can) and a photo taken with the phone upright
    order = disputed_order(runtime, shop, water, customer, conversation)
    png = png_of_size(6900, 6900)
    for name, data, mime in (
        ("长截图.png", png, "image/png"),
        ("竖拍.jpg", photo(orientation=6), "image/jpeg"),
    ):
        sent = shop.api.post(
            f"/api/v1/conversations/{conversation['id']}/attachments", files={"file": (name, data, mime)}
        )
        assert sent.status_code == 201, sent.text

    # when the pack is made
    data, _, _ = pack_of(shop.api, order["id"])

    # then the photos are printed (the upright one turned as its EXIF says), the PNG only named,
    # with the reason and its file's SHA-256
    assert images_of(data, tmp_path) == [(800, 600), (600, 800)]
    text = squeezed(text_of(data, tmp_path))
    assert "图片长截图.png（未打印：像素过多，超过12百万像素）" in text
    assert hashlib.sha256(png).hexdigest() in text


def test_a_picture_whose_file_is_gone_says_so(runtime, shop, water, customer, conversation, tmp_path):
    # given a disputed order whose photo's record was removed from the database
    order = disputed_order(runtime, shop, water, customer, conversation)
    with runtime.db.write() as session:
        session.execute(delete(Attachment).where(Attachment.conversation_id == conversation["id"]))

    # when the pack is made
    data, _, _ = pack_of(shop.api, order["id"])

    # then the photo is named as no longer stored, not as past the bound on pictures
    text = squeezed(text_of(data, tmp_path))
    assert "图片打包好的货.jpg（文件已不再保存）" in text and "最多" not in text
    assert images_of(data, tmp_path) == []


def test_a_member_without_the_pii_permission_reads_the_checkpoints_masked(
    runtime, shop, water, customer, conversation, tmp_path
):
    # given a disputed order whose details checkpoint showed the customer the delivery address,
    # and a member who may read the chat but not phones and addresses in full
    order = disputed_order(runtime, shop, water, customer, conversation)
    member = make_member(runtime, shop, permissions=["orders.read", "chat.read"])

    # when each makes the pack
    owner_text = squeezed(text_of(pack_of(shop.api, order["id"])[0], tmp_path))
    member_text = squeezed(text_of(pack_of(member, order["id"])[0], tmp_path))

    # then the owner reads the card's receiver whole; the member reads it masked, as everywhere
    # (the phone and the street were hidden on the customer's page already)
    assert "收货人：张三138****5678浙江省杭州市西湖区" in owner_text
    assert "收货人：张*138****5678浙江省杭州市西湖区" in member_text
    assert "张三" not in member_text and "13812345678" not in member_text and "文三路" not in member_text
    assert "麻烦您核对一下订单" in member_text  # the chat is there: only the personal data is masked
