"""An order's evidence pack: what the shop shows when a customer disputes an order, as one PDF.

It holds the order as it stands (items, money, the delivery address, parcels), its timeline (every
change and who made it), the four dispute checkpoints (chat/checkpoints.py), the result of checking
the conversation's hash chain right now (chat/verify.py: every link, signed checkpoint and sent
file, and the shop's signed list of conversations), and the chat transcript with its pictures, each
line as the order page's chat panel draws it (chat/transcript.py). documents/signing.py signs the
bytes, so a pack altered after it was made no longer verifies.

The chat is the conversation's: a member whose order is in their scope but whose conversation is a
colleague's gets the pack without it, saying so (rule 21 of docs/architecture.md), like the order
page. The transcript starts ``LEAD_IN`` before the order was placed (the talk that led to it) and
prints at most ``MAX_MESSAGES`` lines and decodes at most ``MAX_PICTURES`` pictures, each scaled
down: a pack stays a few MB, and a few seconds of work, however long the customer has chatted. A
picture is decoded only when its header's size is within ``_most_pixels`` (a JPEG decodes at a
fraction of its size, other formats whole); any other is named, with the reason and its SHA-256.
The chain is checked over the whole conversation (and the ones merged into it), whatever the
transcript prints.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer
from reportlab.platypus import Image as PdfImage
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shangliao.auth.actor import Actor
from shangliao.auth.team import staff_of
from shangliao.catalog.images import MAX_PIXELS
from shangliao.chat import chain, checkpoints, generations
from shangliao.chat.attachments import stored_path
from shangliao.chat.cards import card_view
from shangliao.chat.models import Attachment, ChainCheckpoint, Conversation, Message
from shangliao.chat.service import may_open_conversation, merged_ids
from shangliao.chat.transcript import line_of
from shangliao.chat.verify import check_conversation, listed_heads
from shangliao.core import clock
from shangliao.core.i18n import N_, gettext
from shangliao.core.money import format_yuan
from shangliao.customers.masking import PiiView
from shangliao.customers.models import Customer
from shangliao.customers.pii import region_parts
from shangliao.documents import pdf
from shangliao.exports.rows import PAYMENT_LABELS
from shangliao.orders.cancel_reasons import reason_text
from shangliao.orders.state import STATUS_LABELS, Status
from shangliao.orders.timeline import access_order, events_of, worded
from shangliao.orders.views import event_dict, order_dict
from shangliao.runtime import Runtime
from shangliao.shipping.parcels import items_of, parcel_dict, parcels_of

LEAD_IN = timedelta(days=3)
MAX_MESSAGES = 1000
MAX_PICTURES = 40
PICTURE_EDGE = 800  # pixels: sharp at the 60 mm a picture is printed, a small fraction of a photo
PICTURE_SIZE = 60 * mm
# A picture in another format than JPEG decodes whole, whatever size it prints at: 12 megapixels is
# 48 MB as RGBA and a fraction of a second (a phone's screenshot, a long one at that). A JPEG's
# header may say up to a camera's 48 (catalog/images.py): it decodes at an eighth of that or less.
DECODED_MAX_PIXELS = 12_000_000

TITLE = N_("Evidence pack")
FOOTER = N_("{shop} · Evidence pack of order {number} · made {at} · page {page}")
MADE_AT = N_("Made at")
MADE_BY = N_("Made by")
HOW_TO_CHECK = N_(
    "This file is signed: the signature is in the .sig.json file that comes with it. "
    "`shangliao chat verify-pack` tells whether this file is exactly the one the shop made."
)
ORDER = N_("Order")
ORDER_NUMBER = N_("Order number")
ORDER_STATUS = N_("Order status")
PAYMENT = N_("Payment")
PLACED = N_("Placed")
PAID = N_("Paid at")
SHIPPED = N_("Shipped at")
COMPLETED = N_("Completed at")
CANCELLED = N_("Cancelled at")
BUYER = N_("Buyer")
RECEIVER = N_("Receiver")
PHONE = N_("Phone")
ADDRESS = N_("Address")
BUYER_NOTE = N_("Buyer's message")
ITEMS = N_("Items")
PRODUCT = N_("Product")
SPEC = N_("Specification")
QUANTITY = N_("Quantity")
UNIT_PRICE = N_("Unit price")
AMOUNT = N_("Amount")
ITEMS_TOTAL = N_("Goods amount")
SHIPPING_FEE = N_("Shipping fee")
DISCOUNT = N_("Discount")
TOTAL = N_("Order total")
PAID_AMOUNT = N_("Amount paid")
REFUNDED = N_("Amount refunded")
PARCELS = N_("Parcels")
COURIER = N_("Courier")
WAYBILL = N_("Waybill number")
DELIVERED = N_("Signed for")
TIMELINE = N_("Timeline")
WHEN = N_("Time")
WHAT = N_("What happened")
WHO = N_("By")
SENDER = N_("Sender")
DETAILS = N_("What changed")
CHECKPOINTS = N_("Dispute checkpoints")
CHECKPOINT = N_("Checkpoint")
STATE = N_("State")
MESSAGE = N_("Message")
MESSAGE_N = N_("Message {seq}")
SENT = N_("Sent")
MISSED = N_("Due, not sent")
NOT_YET = N_("Not due yet")
CHAIN = N_("Chat history check")
CHAIN_INTACT = N_(
    "Intact: {messages} messages in {conversations} conversation(s) match their hash chain, "
    "their {signed} signed checkpoints and the shop's signed list of conversations."
)
CHAIN_HEAD = N_("Newest message {seq}, chain hash {hash}")
CHAIN_BROKEN = N_("Breaks found: {n}. The chat history was changed after it was written:")
BREAK_AT = N_("Conversation {conversation}, message {seq}: {problem}")
BREAK_IN = N_("Conversation {conversation}: {problem}")
BREAK_SHOP = N_("The shop's list of conversations: {problem}")
TRANSCRIPT = N_("Chat transcript")
TRANSCRIPT_FROM = N_("From {start} on: {shown} of {total} messages of the conversation.")
TRANSCRIPT_CUT = N_("{n} later messages are not printed here.")
NO_CHAT = N_("This order has no conversation with the customer.")
CHAT_WITHHELD = N_(
    "The conversation of this order is assigned to a colleague: it is left out of this pack. "
    "A member who may open it can make the pack with the chat."
)
SYSTEM = N_("System")
RECALLED = N_("(recalled)")
PICTURE = N_("Picture")
FILE = N_("File")
PICTURE_LEFT_OUT = N_("Picture {name} (not printed: at most {max} pictures per pack)")
PICTURE_UNREADABLE = N_("Picture {name} (its file cannot be read)")
PICTURE_TOO_LARGE = N_("Picture {name} (not printed: too many pixels, over {megapixels} megapixels)")
PICTURE_NOT_STORED = N_("Picture {name} (its file is no longer stored)")
FILE_LINE = N_("{kind}: {name}, SHA-256 {sha256}")
NONE = N_("None")


@dataclass
class Chat:
    conversation_id: int
    lines: list[dict[str, Any]]
    start: datetime
    total: int  # messages shown in the conversation (recall entries aside)
    cut: int  # lines of the window not printed (past MAX_MESSAGES)
    pictures: dict[int, Path] = field(default_factory=dict)  # attachment id → stored file (if any)


@dataclass(frozen=True)
class TooLarge:
    """A picture left undecoded: its header announces more than ``most`` pixels."""

    most: int


@dataclass
class ChainCheck:
    conversations: int
    messages: int
    signed: int
    head: tuple[int, str] | None  # the newest message's seq and hash
    breaks: list[chain.Break]


@dataclass
class Evidence:
    order_id: int
    number: str
    order: dict[str, Any]
    parcels: list[dict[str, Any]]
    cancel_text: str
    timeline: list[dict[str, Any]]
    checkpoints: list[dict[str, Any]]
    chat: Chat | None
    chain: ChainCheck | None
    withheld: bool  # a conversation exists that this member may not open
    made_by: str


def evidence_of(
    session: Session, rt: Runtime, actor: Actor, order_id: int, view: PiiView, locale: str
) -> Evidence:
    """What the pack of ``order_id`` holds for ``actor`` (404 for an order they may not see)."""
    order = access_order(session, actor, order_id)
    authors = dict(staff_of(session, actor.shop_id, active_only=False))
    parcels = parcels_of(session, order)
    contents = items_of(session, parcels)
    conversation_id = checkpoints.conversation_id_of(session, order)
    readable = conversation_id is not None and may_open_conversation(session, actor, conversation_id)
    return Evidence(
        order_id=order.id,
        number=order.number,
        order=order_dict(order, rt.keyring, view),
        parcels=[parcel_dict(p, contents[p.id], locale) for p in parcels],
        cancel_text=reason_text(order.cancel_reason, order.cancel_note) if order.cancel_reason else "",
        timeline=[
            worded(event_dict(e, rt.keyring, view), e.created_at, authors, order.customer_name)
            for e in events_of(session, order)
        ],
        checkpoints=checkpoints.checkpoints_of(session, actor, order),
        chat=_chat(session, rt, actor, order.created_at, conversation_id, authors) if readable else None,
        chain=_chain(session, rt, actor.shop_id, conversation_id) if readable else None,
        withheld=conversation_id is not None and not readable,
        made_by=actor.display_name,
    )


def _chat(
    session: Session,
    rt: Runtime,
    actor: Actor,
    placed: datetime,
    conversation_id: int,
    authors: dict[int, str],
) -> Chat:
    start = placed - LEAD_IN
    shown = (
        Message.shop_id == actor.shop_id,
        Message.conversation_id == conversation_id,
        Message.kind != "recall",  # a recall's own entry: the message it took back says so
    )
    total = session.scalar(select(func.count()).select_from(Message).where(*shown)) or 0
    windowed = (*shown, Message.created_at >= start)
    in_window = session.scalar(select(func.count()).select_from(Message).where(*windowed)) or 0
    messages = list(
        session.scalars(select(Message).where(*windowed).order_by(Message.seq).limit(MAX_MESSAGES))
    )
    customer = session.scalar(
        select(Customer.name)
        .join(Conversation, Conversation.customer_id == Customer.id)
        .where(Conversation.id == conversation_id)
    )
    view = card_view(actor)
    lines = [line_of(session, rt.keyring, m, customer or "", authors, view) for m in messages]
    # Every picture's row (at most MAX_MESSAGES): one missing is named as gone, not as past the bound
    wanted = [line["attachment_id"] for line in lines if line["kind"] == "image" and not line["recalled"]]
    pictures = {
        a.id: stored_path(rt.settings.uploads_dir, a)
        for a in session.scalars(
            select(Attachment).where(
                Attachment.shop_id == actor.shop_id, Attachment.id.in_(wanted), Attachment.kind == "image"
            )
        )
    }
    return Chat(conversation_id, lines, start, total, in_window - len(lines), pictures)


def _chain(session: Session, rt: Runtime, shop_id: int, conversation_id: int) -> ChainCheck:
    """The conversation's history (and the ones merged into it) checked as ``chat verify`` does:
    links, recalls, signed checkpoints, the shop's signed list, every sent file's bytes."""
    recorded = generations.read(generations.path_in(rt.settings.data_dir)).get(shop_id)
    listed, breaks = listed_heads(session, rt.keyring, shop_id, recorded)
    history = [conversation_id, *merged_ids(session, shop_id, [conversation_id])[conversation_id]]
    messages, head = 0, None
    for cid in history:
        found, walked = check_conversation(
            session, rt.keyring, shop_id, cid, listed.get(cid), rt.settings.uploads_dir
        )
        breaks += found
        messages += len(walked)
        if cid == conversation_id and walked:
            head = (walked[-1].seq, walked[-1].hash.hex())
    signed = session.scalar(
        select(func.count()).select_from(ChainCheckpoint).where(ChainCheckpoint.conversation_id.in_(history))
    )
    return ChainCheck(len(history), messages, signed or 0, head, breaks)


# --- drawing ----------------------------------------------------------------------------------------


def render(found: Evidence, *, shop_name: str, timezone: str, locale: str) -> bytes:
    """The pack as a PDF (pictures decoded and scaled here, with no transaction open)."""

    def say(message: str, **params: object) -> str:
        return gettext(message, locale, **params)

    def at(moment: datetime | None) -> str:
        return clock.local(moment, timezone).strftime("%Y-%m-%d %H:%M:%S") if moment else ""

    s = pdf.styles()
    made = clock.now()
    story: list[Flowable] = [
        pdf.text(shop_name, s.title),
        pdf.text(f"{say(TITLE)} · {found.number}", s.strong),
        Spacer(1, 2 * mm),
        pdf.fields([(say(MADE_AT), at(made)), (say(MADE_BY), found.made_by)]),
        pdf.text(say(HOW_TO_CHECK), s.muted),
    ]
    story += _order_part(found, say, at)
    story += _timeline_part(found, say, at)
    story += _checkpoints_part(found, say, at)
    story += _chain_part(found, say)
    story += _transcript_part(found, say, at)
    stamp = at(made)
    return pdf.render(
        story,
        title=f"{say(TITLE)} {found.number}",
        author=shop_name,
        lang=locale,
        footer=lambda page: say(FOOTER, shop=shop_name, number=found.number, at=stamp, page=page),
    )


def _order_part(found: Evidence, say, at) -> list[Flowable]:
    s, o = pdf.styles(), found.order
    status = say(STATUS_LABELS[Status(o["status"])])
    if found.cancel_text:
        status = f"{status} ({found.cancel_text})"
    address = o.get("address")
    where: list[tuple[str, Any]] = []
    if address:
        region = " ".join(region_parts(address["province"], address["city"], address["district"]))
        where = [
            (say(RECEIVER), address.get("receiver") or ""),
            (say(PHONE), address.get("phone") or ""),
            (say(ADDRESS), f"{region} {address.get('detail') or ''}".strip()),
        ]
    moments = [(PLACED, "created_at"), (PAID, "paid_at"), (SHIPPED, "shipped_at"), (COMPLETED, "completed_at"),
               (CANCELLED, "cancelled_at")]  # fmt: skip
    about = [
        (say(ORDER_NUMBER), found.number),
        (say(ORDER_STATUS), status),
        (say(PAYMENT), say(PAYMENT_LABELS[o["payment_status"]])),
        *[(say(label), at(o[key])) for label, key in moments if o.get(key)],
        (say(BUYER), o.get("customer_name") or ""),
        *where,
        (say(BUYER_NOTE), o.get("remark") or say(NONE)),
    ]
    items = [[say(PRODUCT), say(SPEC), say(QUANTITY), say(UNIT_PRICE), say(AMOUNT)]] + [
        [i["name"], i["spec"] or "", i["quantity"], format_yuan(i["unit_price"]), format_yuan(i["amount"])]
        for i in o["items"]
    ]
    money = [(ITEMS_TOTAL, "items_total"), (SHIPPING_FEE, "shipping_fee"), (DISCOUNT, "discount"), (TOTAL, "total"),
             (PAID_AMOUNT, "paid_amount"), (REFUNDED, "refunded_amount")]  # fmt: skip
    part: list[Flowable] = [
        pdf.text(say(ORDER), s.heading),
        pdf.fields(about),
        pdf.text(say(ITEMS), s.heading),
        pdf.table(items, [78 * mm, 40 * mm, 16 * mm, 24 * mm, 24 * mm]),
        Spacer(1, 1.5 * mm),
        pdf.fields([(say(label), format_yuan(o[key])) for label, key in money], widths=(26 * mm, 60 * mm)),
    ]
    if found.parcels:
        rows = [[say(COURIER), say(WAYBILL), say(SHIPPED), say(DELIVERED), say(ITEMS)]] + [
            [p["carrier_name"] or p["carrier_code"], p["tracking_number"], at(p["shipped_at"]), at(p["delivered_at"]),
             "、".join(f"{i['name']} × {i['quantity']}" for i in p["items"])]
            for p in found.parcels
        ]  # fmt: skip
        part += [
            pdf.text(say(PARCELS), s.heading),
            pdf.table(rows, [24 * mm, 36 * mm, 32 * mm, 32 * mm, 58 * mm]),
        ]
    return part


def _timeline_part(found: Evidence, say, at) -> list[Flowable]:
    rows = [[say(WHEN), say(WHAT), say(WHO), say(DETAILS)]] + [
        [at(row["at"]), say(row["label"]), row["author"], "；".join(row["details"])] for row in found.timeline
    ]
    return [
        pdf.text(say(TIMELINE), pdf.styles().heading),
        pdf.table(rows, [32 * mm, 38 * mm, 34 * mm, 78 * mm], zebra=True),
    ]


def _checkpoints_part(found: Evidence, say, at) -> list[Flowable]:
    def state(c: dict[str, Any]) -> str:
        return say(SENT) if c["done"] else say(MISSED) if c["due"] else say(NOT_YET)

    rows = [[say(CHECKPOINT), say(STATE), say(WHEN), say(MESSAGE)]] + [
        [c["label"], state(c), at(c["at"]), say(MESSAGE_N, seq=c["seq"]) if c["seq"] else ""]
        for c in found.checkpoints
    ]
    return [
        pdf.text(say(CHECKPOINTS), pdf.styles().heading),
        pdf.table(rows, [70 * mm, 32 * mm, 40 * mm, 40 * mm]),
    ]


def _chain_part(found: Evidence, say) -> list[Flowable]:
    s = pdf.styles()
    part: list[Flowable] = [pdf.text(say(CHAIN), s.heading)]
    check = found.chain
    if check is None:
        return [*part, pdf.text(say(CHAT_WITHHELD if found.withheld else NO_CHAT), s.body)]
    if not check.breaks:
        part.append(
            pdf.text(
                say(
                    CHAIN_INTACT,
                    messages=check.messages,
                    conversations=check.conversations,
                    signed=check.signed,
                ),
                s.body,
            )
        )
    else:
        part.append(pdf.text(say(CHAIN_BROKEN, n=len(check.breaks)), s.body))
        part += [pdf.text(_break_text(b, say), s.body) for b in check.breaks]
    if check.head:
        part.append(pdf.text(say(CHAIN_HEAD, seq=check.head[0], hash=check.head[1]), s.muted))
    return part


def _break_text(b: chain.Break, say) -> str:
    if b.conversation_id is None:
        return say(BREAK_SHOP, problem=say(b.problem))
    if b.seq is None:
        return say(BREAK_IN, conversation=b.conversation_id, problem=say(b.problem))
    return say(BREAK_AT, conversation=b.conversation_id, seq=b.seq, problem=say(b.problem))


def _transcript_part(found: Evidence, say, at) -> list[Flowable]:
    s = pdf.styles()
    part: list[Flowable] = [pdf.text(say(TRANSCRIPT), s.heading)]
    chat = found.chat
    if chat is None:
        return [*part, pdf.text(say(CHAT_WITHHELD if found.withheld else NO_CHAT), s.body)]
    part.append(
        pdf.text(say(TRANSCRIPT_FROM, start=at(chat.start), shown=len(chat.lines), total=chat.total), s.muted)
    )
    rows: list[list[Any]] = [[say(WHEN), say(SENDER), say(MESSAGE)]]
    pictures = 0
    for line in chat.lines:
        who = line["who"] if line["who"] is not None else say(SYSTEM)
        content, pictures = _content(line, chat, pictures, say)
        rows.append([f"#{line['seq']}\n{at(line['at'])}", who, content])
    part.append(pdf.table(rows, [32 * mm, 30 * mm, 120 * mm]))
    if chat.cut:
        part.append(pdf.text(say(TRANSCRIPT_CUT, n=chat.cut), s.muted))
    return part


def _content(line: dict[str, Any], chat: Chat, pictures: int, say) -> tuple[Any, int]:
    """What a transcript row shows of a message, and how many pictures were decoded so far (those
    printed and those found unreadable: the bound is on the work as much as on the file's size)."""
    s = pdf.styles()
    if line["recalled"]:
        return say(RECALLED), pictures
    if line["kind"] == "image":
        name = line["name"] or say(PICTURE)
        caption = pdf.text(say(FILE_LINE, kind=say(PICTURE), name=name, sha256=line["sha256"]), s.muted)
        path = chat.pictures.get(line["attachment_id"])
        if path is None or not path.is_file():
            return [pdf.text(say(PICTURE_NOT_STORED, name=name), s.cell), caption], pictures
        if pictures >= MAX_PICTURES:
            return [pdf.text(say(PICTURE_LEFT_OUT, name=name, max=MAX_PICTURES), s.cell), caption], pictures
        picture = _picture(path)
        if isinstance(picture, PdfImage):
            return [picture, caption], pictures + 1
        if isinstance(picture, TooLarge):
            why = say(PICTURE_TOO_LARGE, name=name, megapixels=picture.most // 1_000_000)
            return [pdf.text(why, s.cell), caption], pictures
        return [pdf.text(say(PICTURE_UNREADABLE, name=name), s.cell), caption], pictures + 1
    if line["kind"] == "file":
        return say(FILE_LINE, kind=say(FILE), name=line["name"], sha256=line["sha256"]), pictures
    if line["shown"] is not None:  # a checkpoint: what the customer's page showed, line by line
        return [
            pdf.text(f"{say(line['card'])} {line['number']}", s.cell),
            *(pdf.text(p, s.cell) for p in line["shown"]),
        ], pictures
    if line["card"]:
        words = f"[{say(line['card'])}] {line['summary']}"
        return [
            pdf.text(words, s.cell),
            *([pdf.text(line["text"], s.cell)] if line["text"] else []),
        ], pictures
    return line["text"], pictures


def _most_pixels(kind: str | None) -> int:
    """The most pixels a picture's header may announce for it to be decoded (``kind``: Pillow's
    name of its format)."""
    return MAX_PIXELS if kind == "JPEG" else DECODED_MAX_PIXELS


def _picture(path: Path) -> PdfImage | TooLarge | None:
    """A stored picture scaled down and re-encoded for print, TooLarge when its header announces
    more pixels than it may have (it is not decoded), None when it cannot be read.

    Thread-safe (packs are drawn in the server's worker threads): Pillow's own guard against
    decompression bombs (``Image.MAX_IMAGE_PIXELS``, an error past twice that) is left as it is,
    and the size is checked here from the header before a pixel is decoded."""
    try:
        with Image.open(path) as opened:  # the header only
            most = _most_pixels(opened.format)
            if opened.width * opened.height > most:
                return TooLarge(most)
            opened.seek(0)  # an animated GIF or WebP: its first frame
            # A JPEG decodes straight at a fraction of its size: a phone's photo never whole.
            opened.draft("RGB", (2 * PICTURE_EDGE, 2 * PICTURE_EDGE))
            alpha = opened.mode in ("RGBA", "LA", "PA") or "transparency" in opened.info
            wanted = "RGBA" if alpha else "RGB"  # what LANCZOS shrinks well (a palette it would not)
            picture = opened if opened.mode in (wanted, "L") else opened.convert(wanted)
            picture.thumbnail((PICTURE_EDGE, PICTURE_EDGE), Image.Resampling.LANCZOS)  # shrunk, then
            picture = ImageOps.exif_transpose(picture)  # turned upright: never a full-size copy
            if picture.mode == "RGBA":  # printed on white paper: what is transparent is white
                picture = Image.alpha_composite(Image.new("RGBA", picture.size, "white"), picture)
            picture = picture.convert("RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):  # past Pillow's own bound
        return TooLarge(MAX_PIXELS)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        return None
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=80, optimize=True)
    out.seek(0)
    scale = min(PICTURE_SIZE / picture.width, PICTURE_SIZE / picture.height)
    return PdfImage(out, width=picture.width * scale, height=picture.height * scale)
