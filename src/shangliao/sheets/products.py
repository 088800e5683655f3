"""The catalog as a sheet: exported one row per variant (SKU), edited in Excel, imported back.

The SKU is the key. A row whose SKU the shop has updates that variant (price, stock, on sale) and
its product (presale, low-stock alert); stock is set to the number written, as a stocktake would,
through the ledger (``do_adjust_stock``), never below what orders hold. A new SKU joins the
product of its name when the shop has exactly one (its spec must name that product's options), or
rows sharing a new name become one new product, its options the spec's names (颜色:红色;尺码:M).
The preview says what each row would do (create, update with its changes, nothing, or why not);
the import does all of it in one unit or nothing. A file imported twice changes nothing the second
time: every value is already what it says.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from shangliao.auth.actor import Actor
from shangliao.catalog import service as catalog
from shangliao.catalog.models import Product, Variant
from shangliao.catalog.schemas import ProductIn, ProductPatch, VariantIn, VariantPatch
from shangliao.core.errors import Invalid, ShangliaoError
from shangliao.core.i18n import N_, gettext
from shangliao.exports.columns import Column
from shangliao.exports.writers import CsvTable, XlsxBook
from shangliao.inventory import stock
from shangliao.inventory.service import do_adjust_stock
from shangliao.sheets.cells import fen_of, text_of
from shangliao.sheets.read import Table

# (key, header as exported); the import also reads the other names in ALIASES.
COLUMNS = (
    ("name", N_("Product name")),
    ("spec", N_("Spec")),
    ("sku", "SKU"),
    ("price", N_("Price")),
    ("on_hand", N_("Stock")),
    ("active", N_("On sale")),
    ("presale", N_("Presale")),
    ("low_stock_threshold", N_("Low-stock alert")),
    ("weight_g", N_("Weight (g)")),
)
ALIASES = {
    "name": ("商品名称", "商品", "品名", "产品名称", "product", "product name"),
    "spec": ("规格", "规格名称", "商品规格", "spec", "option"),
    "sku": ("SKU", "商品编码", "商家编码", "货号", "规格编码", "SKU编码"),
    "price": ("售价", "价格", "单价", "销售价", "price"),
    "on_hand": ("库存", "库存数量", "现有库存", "stock"),
    # The stock the export wrote: a 库存 left as it was changes nothing, whatever sold since.
    "stock_at_export": ("导出时库存", "stock when exported"),
    "active": ("上架", "在售", "on sale"),
    "presale": ("预售", "presale"),
    "low_stock_threshold": ("低库存提醒", "库存预警", "预警库存", "low-stock alert"),
    "weight_g": ("重量", "重量克", "weight", "weight g"),
}
CREATE, UPDATE, SAME, ERROR = "create", "update", "same", "error"
PROBLEMS = N_("Some rows cannot be imported: fix them and upload the sheet again.")
STOCK_REASON = N_("Product sheet import")
_YES = {"是", "y", "yes", "true", "1", "上架", "在售", "预售"}
_NO = {"否", "n", "no", "false", "0", "下架", "停售", "现货"}
_SPEC_PAIR = re.compile(r"^\s*([^:：=]{1,20})\s*[:：=]\s*(.{1,40}?)\s*$")


@dataclass
class Line:
    row: int
    sku: str | None
    name: str | None
    spec: dict[str, str] | None = None
    values: dict[str, Any] = field(default_factory=dict)  # price, on_hand, active, presale, …
    outcome: str = SAME
    changes: list[str] = field(default_factory=list)
    variant: Variant | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)


def spec_text(options: list[str], spec: dict[str, str]) -> str:
    """颜色:红色;尺码:M, the shape the import reads back."""
    return ";".join(f"{o}:{spec[o]}" for o in options if o in spec)


def _spec(value: Any) -> dict[str, str]:
    pairs = [p for p in re.split(r"[;；]", str(value)) if p.strip()]
    found = [_SPEC_PAIR.match(p) for p in pairs]
    if not all(found):
        raise ValueError(value)
    return {m.group(1).strip(): m.group(2) for m in found if m}


def _flag(value: Any) -> bool:
    text = str(value).strip().lower()
    if text in _YES or value is True:
        return True
    if text in _NO or value is False:
        return False
    raise ValueError(value)


def _count(value: Any, most: int = 10_000_000) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    number = int(str(value).strip())
    if not 0 <= number <= most:
        raise ValueError(value)
    return number


READERS = {"price": fen_of, "on_hand": _count, "stock_at_export": _count, "active": _flag, "presale": _flag}
READERS |= {"low_stock_threshold": _count, "weight_g": lambda v: _count(v, 1_000_000)}
BAD_CELL = {
    "price": N_("Write the price in yuan with at most two decimals, like 12.50."),
    "on_hand": N_("Write the stock as a whole number, 0 or more."),
    "active": N_("Write 是 or 否."),
    "presale": N_("Write 是 or 否."),
    "low_stock_threshold": N_("Write the low-stock alert as a whole number, 0 or more."),
    "weight_g": N_("Write the weight in grams as a whole number, at most 1,000,000."),
    "spec": N_("Write the spec as option:value pairs, like 颜色:红色;尺码:M."),
    "sku": N_("A SKU is at most 64 characters, without spaces."),
    "name": N_("A product name is at most 120 characters."),
}
BAD_CELL["on_hand"] = BAD_CELL["stock_at_export"] = N_("Write the stock as a whole number, 0 or more.")


def plan(session: Session, actor: Actor, table: Table, locale: str) -> list[Line]:
    """What each row would do, read now (nothing is written)."""
    lines = [_read(table, source.number, source.values, locale) for source in table.rows]
    skus = [line.sku for line in lines if line.sku]
    known = {
        v.sku: v
        for v in session.scalars(
            select(Variant)
            .where(Variant.shop_id == actor.shop_id, Variant.sku.in_(skus))
            .options(selectinload(Variant.product))
        )
    }
    seen: dict[str, int] = {}
    new: dict[str, list[Line]] = defaultdict(list)
    for line in lines:
        if line.problems:
            continue
        refuse = _refuser(table, line, locale)
        if line.sku in seen:
            refuse("sku", "sheet.product.repeated", N_("SKU {sku} is also on row {row}."), sku=line.sku, row=seen[line.sku])  # fmt: skip
            continue
        seen[line.sku] = line.row  # type: ignore[index]
        if line.sku in known:
            _plan_update(actor, line, known[line.sku], refuse)
        elif not line.name:
            refuse("name", "sheet.product.no_name", N_("A new SKU needs its product name."))
        else:
            new[line.name].append(line)
    for name, group in new.items():
        _plan_new(session, actor, table, name, group, locale)
    _check_products_agree(table, lines, locale)
    return lines


def _refuser(table: Table, line: Line, locale: str):
    def refuse(key: str, code: str, message: str, **params: object) -> None:
        line.outcome = ERROR
        column = table.cell(key) if key in table.columns else ""
        line.problems.append(
            {"column": column, "field": key, "code": code, "message": gettext(message, locale, **params)}
        )

    return refuse


def _read(table: Table, number: int, values: dict[str, Any], locale: str) -> Line:
    line = Line(number, text_of(values.get("sku")), text_of(values.get("name")))
    refuse = _refuser(table, line, locale)
    if not line.sku:
        refuse(
            "sku", "sheet.product.no_sku", N_("Every row needs its SKU (it is how the row is found again).")
        )
    for key, reader in READERS.items():
        if values.get(key) in (None, ""):
            continue
        try:
            line.values[key] = reader(values[key])
        except (ValueError, TypeError):
            refuse(key, "sheet.product.bad_cell", BAD_CELL[key])
    if values.get("spec") not in (None, ""):
        try:
            line.spec = _spec(values["spec"])
        except ValueError:
            refuse("spec", "sheet.product.bad_cell", BAD_CELL["spec"])
    return line


def _plan_update(actor: Actor, line: Line, variant: Variant, refuse) -> None:
    line.variant = variant
    product = variant.product
    wanted = {k: line.values[k] for k in ("price", "active", "weight_g") if k in line.values}
    if line.spec is not None:
        try:
            catalog.check_spec(product.options, line.spec, variant.sku)
        except ShangliaoError as exc:
            return refuse("spec", exc.code, exc.message, **exc.params)
        wanted["spec"] = line.spec
    try:
        VariantPatch(**wanted)
    except ValidationError as exc:
        return _refuse_invalid(exc, refuse)
    line.changes = [k for k, v in wanted.items() if getattr(variant, k) != v]
    line.changes += [k for k in ("presale", "low_stock_threshold") if k in line.values and getattr(product, k) != line.values[k]]  # fmt: skip
    target = line.values.get("on_hand")
    if target is not None and target == line.values.get("stock_at_export", -1):
        target = None  # left as exported: the sales and restocks since stand
    if target is not None and target != variant.on_hand:
        if "inventory.adjust" not in actor.permissions:
            return refuse(
                "on_hand", "auth.forbidden", N_("Changing stock needs the permission to adjust it.")
            )
        if target < variant.reserved:
            return refuse("on_hand", "stock.insufficient", N_("Orders hold {n} of this SKU: the stock cannot be less."), n=variant.reserved)  # fmt: skip
        line.changes.append("on_hand")
    line.outcome = UPDATE if line.changes else SAME
    return None


def _refuse_invalid(exc: ValidationError, refuse) -> None:
    """A value the catalog's own schema refuses, named by its column (never pydantic's English)."""
    for key in dict.fromkeys(str(e["loc"][0]) if e["loc"] else "name" for e in exc.errors()):
        key = key if key in BAD_CELL else "spec"
        refuse(key, "sheet.product.bad_cell", BAD_CELL[key])


def _plan_new(
    session: Session, actor: Actor, table: Table, name: str, group: list[Line], locale: str
) -> None:
    """New SKUs named ``name``: options of the one product of that name, or a new product."""
    named = session.scalars(
        select(Product)
        .where(Product.shop_id == actor.shop_id, Product.name == name, Product.archived_at.is_(None))
        .options(selectinload(Product.variants))
        .limit(2)
    ).all()
    refusers = {line.row: _refuser(table, line, locale) for line in group}
    if len(named) > 1:
        for line in group:
            refusers[line.row]("name", "sheet.product.ambiguous", N_("The shop has several products named “{name}”: give an existing SKU's row instead."), name=name)  # fmt: skip
        return
    product = named[0] if named else None
    options = product.options if product else list((group[0].spec or {}).keys())
    taken = {catalog.spec_key(options, v.spec): v.sku for v in product.variants} if product else {}
    if product is None:
        try:
            ProductIn.model_validate({**_product_body(name, group), "variants": [{"sku": "x", "price": 0}]})
        except ValidationError as exc:
            for line in group:
                _refuse_invalid(exc, refusers[line.row])
            return
    for line in group:
        refuse = refusers[line.row]
        try:
            if product is not None and not product.options:
                raise Invalid(
                    "product.single_variant", N_("A product without options has exactly one variant.")
                )
            catalog.check_spec(options, line.spec or {}, line.sku or "")
            VariantIn.model_validate(_variant_body(line))
        except ShangliaoError as exc:
            refuse("spec", exc.code, exc.message, **exc.params)
            continue
        except ValidationError as exc:
            _refuse_invalid(exc, refuse)
            continue
        key = catalog.spec_key(options, line.spec or {})
        if key in taken:
            refuse(
                "spec", "sheet.product.duplicate_spec", N_("SKU {sku} has this spec already."), sku=taken[key]
            )
            continue
        taken[key] = line.sku or ""
        line.outcome, line.changes = CREATE, ["variant" if product else "product"]
    if product is None and any(line.outcome == ERROR for line in group):
        for line in group:  # one new product is all its rows or none
            if line.outcome == CREATE:
                line.outcome, line.changes = SAME, []


def _product_body(name: str, group: list[Line]) -> dict[str, Any]:
    first = group[0]
    return {
        "name": name,
        "options": list((first.spec or {}).keys()),
        "presale": first.values.get("presale", False),
        "low_stock_threshold": first.values.get("low_stock_threshold", 0),
        "variants": [_variant_body(line) for line in group],
    }


def _variant_body(line: Line) -> dict[str, Any]:
    body = {"sku": line.sku, "spec": line.spec or {}, "price": line.values.get("price", 0)}
    body |= {k: line.values[k] for k in ("on_hand", "active", "weight_g") if k in line.values}
    return body


def _check_products_agree(table: Table, lines: list[Line], locale: str) -> None:
    """Rows of one product must not ask for two different presale or alert settings."""
    asked: dict[tuple[Any, str], set[Any]] = defaultdict(set)
    for line in lines:
        product = line.variant.product_id if line.variant else line.name
        for key in ("presale", "low_stock_threshold"):
            if key in line.values:
                asked[(product, key)].add(line.values[key])
    for line in lines:
        product = line.variant.product_id if line.variant else line.name
        for key in ("presale", "low_stock_threshold"):
            if len(asked.get((product, key), ())) > 1 and line.outcome != ERROR:
                _refuser(table, line, locale)(key, "sheet.product.disagree", N_("Rows of one product give it different values here."))  # fmt: skip


def do_import(session: Session, actor: Actor, lines: list[Line], locale: str) -> dict[str, int]:
    """Apply every row in the caller's unit; a refusal raises (and undoes them all)."""
    if any(line.outcome == ERROR for line in lines):
        raise Invalid("sheet.product.problems", PROBLEMS)
    for line in lines:
        if line.outcome == UPDATE:
            _apply_update(session, actor, line, locale)
    new: dict[str, list[Line]] = defaultdict(list)
    for line in lines:
        if line.outcome == CREATE:
            new[line.name].append(line)  # type: ignore[index]
    for name, group in new.items():
        existing = session.scalar(
            select(Product).where(Product.shop_id == actor.shop_id, Product.name == name, Product.archived_at.is_(None))
        )  # fmt: skip
        if existing is None:
            catalog.do_create_product(session, actor, ProductIn.model_validate(_product_body(name, group)))
        else:
            for line in group:
                catalog.do_add_variant(
                    session, actor, existing, VariantIn.model_validate(_variant_body(line))
                )
    return counts(lines)


def _apply_update(session: Session, actor: Actor, line: Line, locale: str) -> None:
    variant = line.variant
    assert variant is not None
    patch = {k: line.spec if k == "spec" else line.values[k] for k in line.changes if k in ("price", "active", "weight_g", "spec")}  # fmt: skip
    if patch:
        catalog.do_update_variant(session, actor, variant, VariantPatch(**patch))
    product_patch = {k: line.values[k] for k in line.changes if k in ("presale", "low_stock_threshold")}
    if product_patch:
        catalog.do_update_product(session, actor, variant.product, ProductPatch(**product_patch))
    if "on_hand" in line.changes:
        # Set to the number written, from the row as it is now under its lock: two imports of one
        # sheet at once, or a sale meanwhile, never add the difference twice.
        now = stock.load(session, actor.shop_id, [variant.id])[variant.id]
        delta = line.values["on_hand"] - now.on_hand
        if delta:
            do_adjust_stock(session, actor, variant.id, delta, gettext(STOCK_REASON, locale))


def counts(lines: list[Line]) -> dict[str, int]:
    return {kind: sum(line.outcome == kind for line in lines) for kind in (CREATE, UPDATE, SAME, ERROR)}


def summary(lines: list[Line]) -> dict[str, Any]:
    return {
        "rows": [
            {"row": line.row, "sku": line.sku, "name": line.name or (line.variant.product.name if line.variant else None),
             "outcome": line.outcome, "changes": line.changes, "values": line.values, "problems": line.problems}
            for line in lines
        ],
        **counts(lines),
    }  # fmt: skip


# --- the export ------------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    Column("name", N_("Product name"), width=30),
    Column("spec", N_("Spec"), width=24),
    Column("sku", "SKU", width=18),
    Column("price", N_("Price"), "money"),
    Column("on_hand", N_("Stock"), "int"),
    # Read back to tell a 库存 the merchant changed from one left as exported (see _plan_update).
    Column("stock_at_export", N_("Stock when exported (do not edit)"), "int", width=14),
    Column("reserved", N_("Held by orders"), "int"),  # not read back: orders move it
    Column("active", N_("On sale"), width=8),
    Column("presale", N_("Presale"), width=8),
    Column("low_stock_threshold", N_("Low-stock alert"), "int"),
    Column("weight_g", N_("Weight (g)"), "int"),
)
EXPORT_PAGE = 500


def catalog_rows(session: Session, shop_id: int, locale: str) -> Iterator[dict[str, Any]]:
    """Every variant of the shop's products (archived ones left out), product by product."""
    yes, no = gettext(N_("Yes"), locale), gettext(N_("No"), locale)
    after = 0
    while True:
        products = session.scalars(
            select(Product)
            .where(Product.shop_id == shop_id, Product.archived_at.is_(None), Product.id > after)
            .order_by(Product.id)
            .limit(EXPORT_PAGE)
            .options(selectinload(Product.variants))
        ).all()
        for product in products:
            for variant in product.variants:
                yield {
                    "name": product.name,
                    "spec": spec_text(product.options, variant.spec),
                    "sku": variant.sku,
                    "price": variant.price,
                    "on_hand": variant.on_hand,
                    "stock_at_export": variant.on_hand,
                    "reserved": variant.reserved,
                    "active": yes if variant.active else no,
                    "presale": yes if product.presale else no,
                    "low_stock_threshold": product.low_stock_threshold,
                    "weight_g": variant.weight_g,
                }
        if len(products) < EXPORT_PAGE:
            return
        after = products[-1].id


def write_catalog(
    path: Path, fmt: str, rows: Iterable[dict[str, Any]], *, locale: str, timezone: str
) -> None:
    if fmt == "csv":
        table = CsvTable(path, EXPORT_COLUMNS, locale=locale, timezone=timezone)
        for values in rows:
            table.row(values)
        table.close()
        return
    book = XlsxBook(path, locale=locale, timezone=timezone)
    sheet = book.sheet(N_("Products"), EXPORT_COLUMNS)
    for values in rows:
        sheet.add(values)
    book.close()
