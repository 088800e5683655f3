"""The shipping fee of an order from the shop's 运费模板 (``ShippingTemplate``).

How a fee is worked out, and why:

- **Lines are grouped by template**: the product's own, else the shop's default. A product with
  neither ships free. Each template usually stands for how its goods leave the shop (a carrier, a
  warehouse, a heavy-goods arrangement), so each group is charged as its own shipment and the
  order's fee is **the sum of the groups' fees**: a merchant can check it by hand line by line.
- **Units**: "piece" counts pieces; "weight" adds the variants' grams (a variant not weighed
  counts 0 g). A group always pays at least its first fee (something is sent); beyond the first
  ``first_units``, every started ``further_units`` (rounded up: 1001 g over a first 1000 g with
  500 g further is one more unit) adds ``further_fee``.
- **Province**: the rule naming the address's province replaces the default fees; the units stay
  the template's. An excluded province refuses the order (``shipping.region_not_delivered``)
  naming the region. An order without an address yet (a draft) is charged the default fees.
- **Free shipping** (包邮) per group: its goods' amount at or over ``free_over_amount`` fen, or its
  pieces at or over ``free_over_count``, make the group free ("满 99 元包邮" means 99 too).
- **No templates at all**: the fee is what the caller gave (how orders were priced before).

The shop's templates are read in one statement, and only when the variants' read (``stock.load``)
says the shop has any, so placing an order in a shop without templates costs nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from shangliao.addresses import divisions
from shangliao.core.errors import Invalid
from shangliao.core.i18n import N_
from shangliao.inventory.stock import StockRow
from shangliao.shipping.models import ShippingTemplate

PIECE, WEIGHT = "piece", "weight"
BASES = (PIECE, WEIGHT)

_t = ShippingTemplate.__table__
_READ_TEMPLATES = select(
    _t.c.id,
    _t.c.name,
    _t.c.basis,
    _t.c.first_units,
    _t.c.first_fee,
    _t.c.further_units,
    _t.c.further_fee,
    _t.c.province_rules,
    _t.c.free_over_amount,
    _t.c.free_over_count,
    _t.c.excluded_provinces,
    _t.c.is_default,
)


@dataclass(frozen=True)
class FeeLine:
    """What the fee needs of one order line."""

    template_id: int | None  # the product's template; None = the shop's default
    weight_g: int  # of one piece
    quantity: int
    amount: int  # fen, the line's price × quantity


@dataclass(frozen=True)
class GroupFee:
    template_id: int
    name: str
    units: int  # pieces or grams
    amount: int  # the group's goods, fen
    fee: int
    free: bool


@dataclass(frozen=True)
class FeeQuote:
    """``applied`` is False when no line falls under a template: the caller's fee stands."""

    fee: int
    applied: bool
    groups: list[GroupFee] = field(default_factory=list)


NOT_APPLIED = FeeQuote(0, False)


def province_code(name_or_code: str | None) -> str | None:
    """The province code of an address's province ("浙江省", "浙江" or "330000"); None if unknown."""
    if not name_or_code:
        return None
    text = name_or_code.strip()
    division = divisions.lookup(text)
    if division is None:
        found = [d for d in divisions.find_all(text) if d.level == divisions.PROVINCE]
        division = found[0] if len(found) == 1 else None
    return division.province_code if division else None


def province_name(code: str) -> str:
    division = divisions.lookup(code)
    return division.name if division else code


def fee_lines(rows: Sequence[dict], found: dict[int, StockRow]) -> list[FeeLine]:
    """Fee lines of priced order lines (``orders.create.price_lines`` rows) and their variants."""
    lines = []
    for row in rows:
        stock_row = found.get(row["variant_id"])
        lines.append(
            FeeLine(
                stock_row.shipping_template_id if stock_row else None,
                stock_row.weight_g if stock_row else 0,
                row["quantity"],
                row["amount"],
            )
        )
    return lines


def shop_has_templates(found: dict[int, StockRow]) -> bool:
    return any(row.shop_has_templates for row in found.values())


def quote_fee(session: Session, shop_id: int, lines: Sequence[FeeLine], province: str | None) -> FeeQuote:
    """The fee of ``lines`` sent to ``province`` (a name or a code; None: no address yet)."""
    rows = session.execute(_READ_TEMPLATES.where(_t.c.shop_id == shop_id)).mappings().all()
    return compute_fee([dict(r) for r in rows], lines, province_code(province))


def quote_for_order(
    session: Session, shop_id: int, rows: Sequence[dict], found: dict[int, StockRow], province: str | None
) -> FeeQuote:
    """:func:`quote_fee` for priced lines, skipped (not applied) when the shop has no template."""
    if not shop_has_templates(found):
        return NOT_APPLIED
    return quote_fee(session, shop_id, fee_lines(rows, found), province)


def compute_fee(templates: Iterable[dict], lines: Sequence[FeeLine], province: str | None) -> FeeQuote:
    """The rule in the module's docstring, on templates given as dicts of their columns."""
    by_id = {t["id"]: t for t in templates}
    default = next((t for t in by_id.values() if t["is_default"]), None)
    groups: dict[int, list[FeeLine]] = {}
    for line in lines:
        template = by_id.get(line.template_id) if line.template_id is not None else None
        template = template or default
        if template is not None:
            groups.setdefault(template["id"], []).append(line)
    if not groups:
        return NOT_APPLIED
    results = [_group_fee(by_id[tid], group, province) for tid, group in sorted(groups.items())]
    return FeeQuote(sum(g.fee for g in results), True, results)


def _group_fee(template: dict, lines: list[FeeLine], province: str | None) -> GroupFee:
    if province is not None and province in (template["excluded_provinces"] or []):
        raise Invalid(
            "shipping.region_not_delivered",
            N_("{region} is outside the delivery area of {template}."),
            region=province_name(province),
            template=template["name"],
            details={"province": province, "template_id": template["id"]},
        )
    pieces = sum(line.quantity for line in lines)
    amount = sum(line.amount for line in lines)
    units = pieces if template["basis"] == PIECE else sum(line.weight_g * line.quantity for line in lines)
    first_fee, further_fee = template["first_fee"], template["further_fee"]
    for rule in template["province_rules"] or []:
        if province is not None and province in rule.get("provinces", []):
            first_fee, further_fee = rule["first_fee"], rule["further_fee"]
            break
    free_amount, free_count = template["free_over_amount"], template["free_over_count"]
    free = (free_amount is not None and amount >= free_amount) or (
        free_count is not None and pieces >= free_count
    )
    fee = (
        0
        if free
        else unit_fee(units, template["first_units"], first_fee, template["further_units"], further_fee)
    )
    return GroupFee(template["id"], template["name"], units, amount, fee, free)


def unit_fee(units: int, first_units: int, first_fee: int, further_units: int, further_fee: int) -> int:
    """First fee for up to ``first_units``, then ``further_fee`` per started ``further_units``."""
    over = max(units - first_units, 0)
    return first_fee + -(-over // further_units) * further_fee
