"""报价单 and 批量下单: a sheet of products, quantities, prices and (maybe) recipients becomes one
merged order, one order per recipient, or a quote card in the customer's chat.

The preview (:func:`plan`) says, row by row, which variant each line is (``matching``), at what
price, for whom, and every problem with its row, column and reason; nothing is written. The import
(:func:`do_import`) reads the kept file again and makes everything in one unit of work or nothing.

The same file never makes orders twice: every order an import makes carries the idempotency key
``import:<sha256 of the file>:<n>``, and an import finding any order under that file's prefix
answers with those orders instead (whatever the mode or customer chosen the second time). A quote
card is sent under a client id made from the file's hash, so a repeat sends nothing new either.

Rows without recipient cells under a row with them belong to that recipient: a merchant's sheet
often merges the recipient's cells over the lines of their parcel.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.addresses.smart_paste import parse_address
from shangliao.auth.actor import Actor
from shangliao.auth.scope import within_scope
from shangliao.catalog.models import Variant
from shangliao.chat import cards, service
from shangliao.chat.drafts import shop_catalog
from shangliao.chat.schemas import MAX_QUOTE_LINES
from shangliao.core.crypto import Keyring
from shangliao.core.errors import Conflict, Invalid, NotFound
from shangliao.core.i18n import N_, gettext
from shangliao.customers.pii import Address, check_mobile
from shangliao.inventory import stock
from shangliao.orders.create import do_create_order
from shangliao.orders.models import Order
from shangliao.orders.schemas import ItemIn, OrderCreate
from shangliao.sheets import matching
from shangliao.sheets.cells import fen_of, text_of
from shangliao.sheets.read import Table

ALIASES = {
    "sku": ("商品编码", "SKU", "商家编码", "货号", "规格编码", "SKU编码", "商品货号", "item code"),
    "name": (
        "商品名称",
        "商品",
        "品名",
        "产品名称",
        "产品",
        "商品标题",
        "宝贝名称",
        "product",
        "product name",
    ),
    "spec": ("规格", "规格名称", "商品规格", "颜色分类", "款式", "型号", "spec", "option", "variant"),
    "quantity": ("数量", "件数", "购买数量", "订购数量", "数目", "qty", "quantity"),
    "unit_price": ("单价", "报价", "价格", "成交价", "销售价", "协议价", "unit price", "price"),
    "receiver": ("收货人", "收件人", "联系人", "收货人姓名", "recipient", "receiver"),
    "phone": ("手机", "手机号", "联系电话", "电话", "收货人手机", "收件人电话", "phone", "mobile"),
    "province": ("省", "省份", "province"),
    "city": ("市", "城市", "city"),
    "district": ("区", "区县", "district"),
    "address": ("收货地址", "详细地址", "地址", "收件地址", "address"),
    "remark": ("备注", "买家留言", "留言", "订单备注", "remark", "note"),
}
RECIPIENT = ("receiver", "phone", "province", "city", "district", "address")
MERGED, PER_RECIPIENT, QUOTE = "merged", "per_recipient", "quote"
MODES = (MERGED, PER_RECIPIENT, QUOTE)
MAX_ORDERS = 200  # orders one sheet may make (each holds stock, in one unit of work)
MAX_LINES = 100  # lines of one order (OrderCreate.items)
PROBLEMS = N_("Some rows cannot be imported: fix them and upload the sheet again.")
_QUANTITY = re.compile(r"^\s*(\d{1,4})\s*[^\d\s]{0,2}\s*$")  # 3, 3件, 10 箱


@dataclass
class Line:
    row: int
    name: str | None
    spec: str | None
    sku: str | None
    quantity: int | None = None
    unit_price: int | None = None  # fen; None: the catalog's
    match: matching.Match | None = None
    recipient: int | None = None  # index into Plan.recipients
    remark: str = ""
    problems: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # the orders could not be made; a quote could


@dataclass
class Plan:
    lines: list[Line]
    recipients: list[Address]
    names: dict[int, tuple[str, str, int]]  # variant id → (product name, spec label, catalog price)

    @property
    def errors(self) -> int:
        return sum(bool(line.problems) for line in self.lines)


def _quantity(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value) if float(value).is_integer() and 0 < value < 10_000 else None
    found = _QUANTITY.match(str(value or ""))
    number = int(found.group(1)) if found else 0
    return number if 0 < number < 10_000 else None


def plan(session: Session, shop_id: int, table: Table, locale: str) -> Plan:
    """What each row is, read now (nothing is written)."""
    if "name" not in table.columns and "sku" not in table.columns:
        raise Invalid(
            "sheet.missing_columns",
            N_("The sheet lacks the columns: {names}."),
            names="、".join(gettext(name, locale) for name in (N_("Product name"), "SKU")),
            details={"missing": ["name"]},
        )
    shop = shop_catalog(session, shop_id)
    skus = _skus(session, shop_id, table)
    matcher = matching.Matcher(
        (v for vs in shop.catalog.variants.values() for v in vs), skus
    )  # fmt: skip
    found = Plan([], [], {vid: (p.name, p.spec, p.price) for vid, p in shop.variants.items()})
    last_recipient: int | None = None
    for source in table.rows:
        values = source.values
        line = Line(
            source.number,
            text_of(values.get("name")),
            text_of(values.get("spec")),
            text_of(values.get("sku")),
        )
        line.remark = text_of(values.get("remark")) or ""

        def refuse(key: str, code: str, message: str, line=line, **params: object) -> None:
            column = table.cell(key) if key in table.columns else ""
            line.problems.append(
                {"column": column, "field": key, "code": code, "message": gettext(message, locale, **params)}
            )

        _read_product(line, matcher, refuse)
        line.quantity = _quantity(values.get("quantity"))
        if line.quantity is None:
            refuse(
                "quantity",
                "sheet.quote.bad_quantity",
                N_("The quantity must be a whole number from 1 to 9999."),
            )
        if values.get("unit_price") not in (None, ""):
            try:
                line.unit_price = fen_of(values["unit_price"])
            except ValueError:
                refuse("unit_price", "sheet.quote.bad_price", N_("Write the price in yuan with at most two decimals, like 12.50."))  # fmt: skip
        if any(values.get(key) not in (None, "") for key in RECIPIENT):
            last_recipient = _read_recipient(found, values, refuse)
        line.recipient = last_recipient
        found.lines.append(line)
    _warn_short(session, shop_id, found.lines, locale)
    return found


def _warn_short(session: Session, shop_id: int, lines: list[Line], locale: str) -> None:
    """Lines asking for more than is in stock (the sheet's lines of one variant together): the
    orders would be refused at import, so the preview says so; a quote card holds no stock."""
    asked: dict[int, int] = defaultdict(int)
    for line in lines:
        if line.match and line.match.variant_id is not None and line.quantity:
            asked[line.match.variant_id] += line.quantity
    found = stock.peek(session, shop_id, list(asked))
    for line in lines:
        row = found.get(line.match.variant_id) if line.match and line.match.variant_id else None
        if row is not None and not row.presale and asked[row.variant_id] > row.available:
            line.warnings.append(
                gettext(N_("Only {n} in stock for the {m} the sheet asks: the orders cannot be made until it is restocked (a quote can still be sent)."), locale, n=max(row.available, 0), m=asked[row.variant_id])
            )  # fmt: skip


def _skus(session: Session, shop_id: int, table: Table) -> dict[str, int]:
    """The shop's variants named by the sheet's SKU cells (the only ones worth loading)."""
    written = {str(r.values["sku"]).strip() for r in table.rows if text_of(r.values.get("sku"))}
    if not written:
        return {}
    rows = session.execute(
        select(Variant.sku, Variant.id).where(Variant.shop_id == shop_id, Variant.sku.in_(
            written | {s.upper() for s in written} | {s.lower() for s in written}
        ))
    ).all()  # fmt: skip
    return {sku: vid for sku, vid in rows}


def _read_product(line: Line, matcher: matching.Matcher, refuse) -> None:
    line.match = matcher.match(line.sku, line.name, line.spec)
    if line.match.variant_id is not None:
        return
    if line.match.problem == matching.WHICH_OPTION:
        refuse("spec", line.match.problem, N_("Which option of this product? Write it under 规格 (e.g. 红色 M) or give the SKU."))  # fmt: skip
    elif line.match.problem == matching.NO_SUCH_OPTION:
        refuse("spec", line.match.problem, N_("This product has no option “{spec}”."), spec=line.spec or "")
    else:
        refuse(
            "name" if line.name else "sku",
            matching.NO_PRODUCT,
            N_("No product on sale matches “{name}”."),
            name=line.name or line.sku or "",
        )


def _read_recipient(found: Plan, values: dict[str, Any], refuse) -> int | None:
    """The row's recipient (the same person twice is one recipient), or None with its problems."""
    receiver, phone = text_of(values.get("receiver")) or "", text_of(values.get("phone")) or ""
    detail = text_of(values.get("address")) or ""
    fields = {k: text_of(values.get(k)) or "" for k in ("province", "city", "district")}
    if not fields["province"]:  # one cell holds it (张三 138… 浙江省杭州市西湖区文三路 1 号), or most of it
        parsed = parse_address(f"{receiver} {phone} {detail}")
        fields = {"province": parsed.province, "city": parsed.city, "district": parsed.district}
        receiver, phone = receiver or parsed.receiver, phone or parsed.phone
        detail = parsed.detail or detail
    wrong = []
    try:
        phone = check_mobile(phone)
    except Invalid:
        wrong.append("phone")
    try:  # with a good mobile in its place, so the other fields are checked too
        address = Address(
            receiver=receiver, phone=phone if not wrong else _ANY_MOBILE, detail=detail, **fields
        )
    except ValidationError as exc:
        wrong += [str(e["loc"][0]) if e["loc"] else "detail" for e in exc.errors()]
    if wrong:
        for key in dict.fromkeys(wrong):
            column = key if key in values else "address"  # a region read out of the address cell
            refuse(
                column,
                "sheet.quote.bad_recipient",
                _RECIPIENT_PROBLEMS.get(key, _RECIPIENT_PROBLEMS["detail"]),
            )
        return None
    for index, known in enumerate(found.recipients):
        if known == address:
            return index
    found.recipients.append(address)
    return len(found.recipients) - 1


_ANY_MOBILE = "13800000000"
_RECIPIENT_PROBLEMS = {
    "receiver": N_("The recipient's name is missing."),
    "phone": N_("The recipient's mobile number is missing or not a mainland mobile."),
    "province": N_("The address's province and city could not be read."),
    "city": N_("The address's province and city could not be read."),
    "district": N_("The address's district could not be read."),
    "detail": N_("The street address is missing."),
}


def summary(found: Plan, locale: str) -> dict[str, Any]:
    def described(line: Line) -> dict[str, Any]:
        variant_id = line.match.variant_id if line.match else None
        name, spec, price = found.names.get(variant_id, (None, None, None))
        unit = line.unit_price if line.unit_price is not None else price
        return {
            "row": line.row,
            "written": " ".join(x for x in (line.sku, line.name, line.spec) if x),
            "variant_id": variant_id,
            "product": name,
            "spec": spec,
            "matched_by": line.match.how if line.match else None,
            "quantity": line.quantity,
            "unit_price": unit,
            "catalog_price": price,
            "amount": unit * line.quantity if unit is not None and line.quantity else None,
            "recipient": line.recipient,
            "problems": line.problems,
            "warnings": line.warnings,
        }

    rows = [described(line) for line in found.lines]
    return {
        "rows": rows,
        "lines": len(rows),
        "errors": found.errors,
        "total": sum(r["amount"] or 0 for r in rows),
        "recipients": [
            {
                "receiver": a.receiver,
                "phone": a.phone,
                "address": f"{a.province}{a.city}{a.district}{a.detail}",
            }
            for a in found.recipients
        ],
    }


def _items(lines: list[Line]) -> list[ItemIn]:
    return [ItemIn(variant_id=line.match.variant_id, quantity=line.quantity, unit_price=line.unit_price) for line in lines]  # type: ignore[union-attr, arg-type]  # fmt: skip


def key_prefix(sha256: str) -> str:
    return f"import:{sha256}:"


def earlier_import(session: Session, actor: Actor, sha256: str) -> list[Order]:
    """The orders this very file made before that ``actor`` may see (the import's keys, looked up
    whole on the unique key index: a range over the prefix would sort by the database's collation)."""
    keys = [f"{key_prefix(sha256)}{n}" for n in range(MAX_ORDERS)]
    return list(
        session.scalars(
            select(Order)
            .where(Order.shop_id == actor.shop_id, Order.idempotency_key.in_(keys), *within_scope(actor, Order.assignee_id))
            .order_by(Order.id)
        )
    )  # fmt: skip


def do_import(
    session: Session,
    keyring: Keyring,
    actor: Actor,
    found: Plan,
    *,
    sha256: str,
    customer_id: int,
    mode: str,
) -> dict[str, Any]:
    """Make the orders (or send the quote) of a previewed sheet in the caller's unit; any problem
    raises, and nothing of it stays."""
    if found.errors:
        raise Invalid("sheet.quote.problems", PROBLEMS)
    if mode == QUOTE:
        return _send_quote(session, keyring, actor, found, sha256, customer_id)
    earlier = earlier_import(session, actor, sha256)
    if earlier and any(o.customer_id != customer_id for o in earlier):
        raise Conflict(
            "sheet.quote.imported_for_another",
            N_("This file was imported already, for another customer: orders {numbers}."),
            numbers="、".join(o.number for o in earlier),
        )
    if earlier:
        return {"mode": mode, "already": True, "orders": [brief(o) for o in earlier]}
    groups = _groups(found, mode)
    made = []
    for n, (recipient, lines) in enumerate(groups):
        body = OrderCreate(
            customer_id=customer_id,
            address=recipient,
            items=_items(lines),
            remark="；".join(dict.fromkeys(line.remark for line in lines if line.remark))[:500],
            channel="quote",
        )
        created = do_create_order(session, keyring, actor, body, idempotency_key=f"{key_prefix(sha256)}{n}")
        made.append({"id": created.row.id, "number": created.row.number, "total": created.row.total})
    return {"mode": mode, "already": False, "orders": made}


def brief(order: Order) -> dict[str, Any]:
    return {"id": order.id, "number": order.number, "total": order.total}


def _groups(found: Plan, mode: str) -> list[tuple[Address | None, list[Line]]]:
    if mode == MERGED:
        if len(found.recipients) > 1:
            raise Invalid(
                "sheet.quote.many_recipients",
                N_("The sheet names {n} recipients: import one order per recipient instead."),
                n=len(found.recipients),
            )
        groups = [(found.recipients[0] if found.recipients else None, found.lines)]
    else:
        nobody = [line.row for line in found.lines if line.recipient is None]
        if nobody:
            raise Invalid(
                "sheet.quote.no_recipient",
                N_("Rows {rows} have no recipient: one order per recipient needs one on every row."),
                rows="、".join(map(str, nobody[:20])),
                details={"rows": nobody},
            )
        groups = [
            (address, [line for line in found.lines if line.recipient == index])
            for index, address in enumerate(found.recipients)
        ]
    if len(groups) > MAX_ORDERS:
        raise Invalid(
            "sheet.quote.too_many_orders", N_("One sheet may make at most {n} orders."), n=MAX_ORDERS
        )
    if any(len(lines) > MAX_LINES for _, lines in groups):
        raise Invalid("sheet.quote.too_many_lines", N_("One order may have at most {n} lines."), n=MAX_LINES)
    return groups


def _send_quote(
    session: Session, keyring: Keyring, actor: Actor, found: Plan, sha256: str, customer_id: int
) -> dict[str, Any]:
    if len(found.lines) > MAX_QUOTE_LINES:
        raise Invalid(
            "sheet.quote.too_many_lines", N_("One quote may have at most {n} lines."), n=MAX_QUOTE_LINES
        )
    conversation = service.do_open_conversation(session, actor.shop_id, customer_id)
    if not actor.may_see_assignee(conversation.assignee_id):
        raise NotFound("chat.conversation_not_found", N_("This conversation does not exist."))
    data = cards.quote_card(session, actor.shop_id, _items(found.lines))
    sent = service.do_send(
        session,
        keyring,
        actor.shop_id,
        conversation.id,
        sender_type="staff",
        sender_id=actor.staff_id,
        kind="quote_card",
        data=data,
        client_id=f"import-{sha256[:56]}",
    )
    return {
        "mode": QUOTE,
        "already": sent.replayed,
        "conversation_id": conversation.id,
        "message_id": sent.id,
        "total": data["total"],
    }
