"""The products screen: the list with its search and filter chips, and creating a product.

A product is typed as people think of it: a name, a price, up to three options (颜色, 尺码…) and one
row per variant. The form is turned into the API's ``ProductIn`` and created on the same path as the
API's, in one unit of work: a refusal anywhere leaves nothing behind. Editing, stock and the ledger
are in ``product_edit_pages.py``; the form helpers here are shared with it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.catalog import service as catalog
from shangliao.catalog.schemas import MAX_OPTIONS, MAX_VARIANTS, ProductIn, ProductOut
from shangliao.core.errors import Invalid
from shangliao.core.field_labels import FIELD_LABELS, field_label
from shangliao.core.i18n import N_, Msg, gettext
from shangliao.runtime import Runtime, get_runtime
from shangliao.web.console.forms import in_thread, read_form, yuan_to_fen
from shangliao.web.render import is_htmx, render

router = APIRouter(include_in_schema=False)

LIST_LIMIT = 30
# The new-product form offers three option columns (enough for 颜色/尺码/款式); a product made
# through the API may have up to MAX_OPTIONS, and the edit page shows all of them.
FORM_OPTIONS = 3
SPEC_FIELDS = tuple(f"spec{i}" for i in range(1, MAX_OPTIONS + 1))
# The edit form's row: id, price, on-sale box and a value per option; plus the product's own fields.
MAX_FORM_FIELDS = MAX_VARIANTS * (3 + MAX_OPTIONS) + 40
# A description may hold 5,000 characters: as URL-encoded UTF-8 that is up to 45,000 bytes, beyond
# the 4 KB per field that ``read_form`` allows for short console forms.
MAX_FIELD_BYTES = 48 * 1024
CHIPS = (("low", N_("Low stock only")), ("presale", N_("Presale")), ("inactive", N_("Inactive")))
_WHOLE = re.compile(r"\d{1,9}", re.ASCII)


# --- form helpers (shared with product_edit_pages) -------------------------------------------------


async def read_product_form(request: Request) -> FormData:
    """Like ``read_form``, with room for a long description and a table of up to 200 variants."""
    return await read_form(request, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FIELD_BYTES)


def field(form: FormData | Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def column(form: FormData, name: str, length: int) -> list[str]:
    """One input of every table row; a short list (a hand-made request) is padded with blanks."""
    values = [v.strip() if isinstance(v, str) else "" for v in form.getlist(name)][:length]
    return values + [""] * (length - len(values))


def whole_number(text: str, label: str, *, row: int | None = None) -> int:
    """A count typed by a person ("20"); blank is 0."""
    if not text:
        return 0
    if not _WHOLE.fullmatch(text):
        if row is None:
            raise Invalid(
                "console.bad_number", N_("{field}: write a whole number, like 20."), field=Msg(label)
            )
        raise Invalid(
            "console.bad_number",
            N_("Row {row}, {field}: write a whole number, like 20."),
            row=row,
            field=Msg(label),
        )
    return int(text)


def made_up_sku(prefix: str, n: int) -> str:
    """For a row left without a SKU: short, unique enough, and easy to read out on the phone."""
    return f"{prefix}-{n}"


def sku_prefix() -> str:
    return "SL" + secrets.token_hex(3).upper()


def explain(exc: ValidationError, rows: Sequence[int] = (), *, row_of_all: int | None = None) -> Invalid:
    """Pydantic's complaint in the merchant's words: which fields, on which visible row.

    ``rows`` maps the index in ``variants`` to the row the person sees; ``row_of_all`` is the row
    when the whole model is one variant row.
    """
    names: list[str] = []
    for error in exc.errors():
        loc = list(error.get("loc") or ())
        row = row_of_all
        if len(loc) >= 2 and loc[0] == "variants" and isinstance(loc[1], int):
            row = rows[loc[1]] if loc[1] < len(rows) else loc[1] + 1
            loc = loc[2:]
        name = str(loc[0]) if loc else "variants"
        label = gettext(field_label(name))
        text = gettext(N_("row {row}: {field}"), row=row, field=label) if row else label
        if text not in names:
            names.append(text)
    return Invalid(
        "console.bad_product",
        N_("These fields are missing or invalid: {fields}."),
        fields=", ".join(names) or "-",
    )


def checked(form: FormData, name: str) -> bool:
    return field(form, name) == "1"


# Merchants type other names as a list in one field: commas (either width), 、 or spaces between.
_ALIAS_BREAK = re.compile(r"[,，、;；\s]+")


def split_aliases(text: str) -> list[str]:
    return [alias for alias in _ALIAS_BREAK.split(text) if alias]


def product_fields(form: FormData) -> dict[str, Any]:
    """The product's own fields, as on the new and the edit page (an unticked box means no)."""
    return {
        "name": field(form, "name"),
        "aliases": split_aliases(field(form, "aliases")),
        "description": field(form, "description"),
        "presale": checked(form, "presale"),
        "active": checked(form, "active"),
        "low_stock_threshold": whole_number(
            field(form, "low_stock_threshold"), FIELD_LABELS["low_stock_threshold"]
        ),
    }


# --- the list -------------------------------------------------------------------------------------


def list_filters(values: Mapping[str, str]) -> dict[str, Any]:
    filters: dict[str, Any] = {"q": (values.get("q") or "").strip()[:100]}
    filters.update({name: values.get(name) == "1" for name, _ in CHIPS})
    return filters


def summary(view: ProductOut) -> dict[str, Any]:
    """What a list row shows; "low" means what the low-stock filter means (active variants only)."""
    selling = [v for v in view.variants if v.active]
    return {
        "p": view,
        "variants": len(view.variants),
        "available": sum(v.available for v in selling),
        "low": view.active and any(v.low_stock for v in selling),
    }


def _list_view(request: Request, actor: Actor, rt: Runtime, values: Mapping[str, str]):
    filters = list_filters(values)
    cursor = (values.get("cursor") or "").strip()[:200] or None
    wanted = catalog.ProductFilter(
        active=False if filters["inactive"] else None,
        presale=True if filters["presale"] else None,
        low_stock=filters["low"],
        q=filters["q"] or None,
    )
    with rt.db.read() as session:
        found, next_cursor = catalog.list_products(
            session, actor.shop_id, wanted, cursor=cursor, limit=LIST_LIMIT
        )
        rows = [summary(catalog.product_out(p)) for p in found]
    context = {"filters": filters, "rows": rows, "next_cursor": next_cursor, "chips": CHIPS}
    if is_htmx(request):
        return render(request, "products/_rows.html" if cursor else "products/_list.html", **context)
    return render(request, "products/list.html", section="products", **context)


@router.get("/products")
def products_page(
    request: Request, actor: Actor = Depends(staff("catalog.read")), rt: Runtime = Depends(get_runtime)
):
    return _list_view(request, actor, rt, request.query_params)


# --- creating -------------------------------------------------------------------------------------


@router.get("/products/new")
def new_product_page(request: Request, actor: Actor = Depends(staff("catalog.write"))):
    return render(
        request,
        "products/new.html",
        section="products",
        fields={
            "name": "",
            "aliases": [],
            "description": "",
            "presale": False,
            "active": True,
            "low_stock_threshold": 0,
        },
        form_options=FORM_OPTIONS,
    )


@router.post("/products/new")
async def create_product(
    request: Request, actor: Actor = Depends(staff("catalog.write")), rt: Runtime = Depends(get_runtime)
):
    form = await read_product_form(request)
    body = product_in(form)

    def create() -> int:
        with rt.db.write() as session:
            return catalog.do_create_product(session, actor, body).id

    target = f"/products/{await in_thread(create)}"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def product_in(form: FormData) -> ProductIn:
    """The new-product form as the API's ``ProductIn``; its validation decides what is acceptable."""
    # Option names keep the column they were typed in: column 2 alone is a product with one option.
    options = [(i, name) for i, name in enumerate(column(form, "option", FORM_OPTIONS)) if name]
    default_price = yuan_to_fen(field(form, "price"), "price")
    variants, rows = variant_rows(form, options, default_price)
    raw = {**product_fields(form), "options": [name for _, name in options], "variants": variants}
    try:
        return ProductIn.model_validate(raw)
    except ValidationError as exc:
        raise explain(exc, rows) from exc


def variant_rows(
    form: FormData, options: list[tuple[int, str]], default_price: int | None
) -> tuple[list[dict[str, Any]], list[int]]:
    """The variants table, blank rows left out; also the visible row number of each one kept."""
    names = ("sku", "variant_price", "on_hand", *SPEC_FIELDS[:FORM_OPTIONS])
    length = min(max(len(form.getlist(name)) for name in names), MAX_VARIANTS + 1)
    skus, prices, stocks = (column(form, name, length) for name in names[:3])
    specs = [column(form, name, length) for name in names[3:]]
    prefix = sku_prefix()
    variants: list[dict[str, Any]] = []
    rows: list[int] = []
    for i in range(length):
        row = i + 1
        if not (skus[i] or prices[i] or stocks[i] or any(s[i] for s in specs)):
            continue
        spec = {}
        for col, name in options:
            if not specs[col][i]:
                raise Invalid(
                    "console.blank_spec", N_("Row {row}: fill in the {option}."), row=row, option=name
                )
            spec[name] = specs[col][i]
        price = yuan_to_fen(prices[i], f"variants.{i}.price")
        if price is None:
            price = default_price
        if price is None:
            raise Invalid(
                "console.no_price",
                N_("Row {row}: give a price, or one price for the whole product."),
                row=row,
            )
        variants.append(
            {
                "sku": skus[i] or made_up_sku(prefix, row),
                "spec": spec,
                "price": price,
                "on_hand": whole_number(stocks[i], FIELD_LABELS["on_hand"], row=row),
            }
        )
        rows.append(row)
    if not variants and not options and default_price is not None:
        # A plain product: its price says it all, the one variant needs nothing more.
        return [{"sku": made_up_sku(prefix, 1), "spec": {}, "price": default_price, "on_hand": 0}], [1]
    if not variants:
        raise Invalid("console.no_variants", N_("Fill in at least one variant row (its price at least)."))
    return variants, rows
