"""运费模板: the shop's shipping templates (request shapes, checks, changes, the answer's shape).

How an order's fee is worked out from them is ``shipping/fees.py``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shangliao.addresses import divisions
from shangliao.audit.acts import SETTINGS_CHANGED
from shangliao.audit.log import record_audit
from shangliao.auth.actor import Actor
from shangliao.catalog.models import Product
from shangliao.core.errors import Invalid, NotFound
from shangliao.core.i18n import N_
from shangliao.core.schemas import StrictModel
from shangliao.shipping.models import ShippingTemplate

# Fees in fen and units in pieces or grams: bounded so a sum of many lines still fits an order.
Fee = Annotated[int, Field(ge=0, le=10_000_000)]
Units = Annotated[int, Field(ge=0, le=1_000_000)]
ProvinceCode = Annotated[str, Field(min_length=1, max_length=6)]
SETTING = "shipping_templates"


class ProvinceRuleIn(StrictModel):
    provinces: list[ProvinceCode] = Field(
        min_length=1, max_length=34, description='e.g. ["540000", "650000"].'
    )
    first_fee: Fee
    further_fee: Fee = 0


class ShippingTemplateIn(StrictModel):
    """A whole template (created, or replaced by PUT). Fees in fen; units are pieces for "piece" and
    grams for "weight" (e.g. first 1000 g, each further 500 g)."""

    name: str = Field(min_length=1, max_length=40)
    basis: Literal["piece", "weight"] = "piece"
    first_units: Units = 1
    first_fee: Fee = 0
    further_units: Units = 1
    further_fee: Fee = 0
    province_rules: list[ProvinceRuleIn] = Field(default_factory=list, max_length=34)
    free_over_amount: Fee | None = Field(default=None, description="包邮 at or over this amount (fen).")
    free_over_count: Units | None = Field(default=None, description="包邮 at or over this many pieces.")
    excluded_provinces: list[ProvinceCode] = Field(
        default_factory=list, max_length=34, description="Province codes not delivered to."
    )
    is_default: bool = Field(default=False, description="Charged for products that name no template.")


class ProvinceRuleOut(BaseModel):
    provinces: list[str]
    province_names: list[str]
    first_fee: int
    further_fee: int


class ShippingTemplateOut(BaseModel):
    id: int
    name: str
    basis: str
    first_units: int
    first_fee: int
    further_units: int
    further_fee: int
    province_rules: list[ProvinceRuleOut]
    free_over_amount: int | None
    free_over_count: int | None
    excluded_provinces: list[str]
    excluded_names: list[str]
    is_default: bool


class ShippingTemplateList(BaseModel):
    items: list[ShippingTemplateOut]


def _names(codes: list[str]) -> list[str]:
    return [d.name if (d := divisions.lookup(c)) else c for c in codes]


def template_out(t: ShippingTemplate) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "basis": t.basis,
        "first_units": t.first_units,
        "first_fee": t.first_fee,
        "further_units": t.further_units,
        "further_fee": t.further_fee,
        "province_rules": [{**r, "province_names": _names(r["provinces"])} for r in t.province_rules or []],
        "free_over_amount": t.free_over_amount,
        "free_over_count": t.free_over_count,
        "excluded_provinces": list(t.excluded_provinces or []),
        "excluded_names": _names(t.excluded_provinces or []),
        "is_default": t.is_default,
    }


def list_templates(session: Session, shop_id: int) -> list[ShippingTemplate]:
    stmt = select(ShippingTemplate).where(ShippingTemplate.shop_id == shop_id)
    return list(session.scalars(stmt.order_by(ShippingTemplate.is_default.desc(), ShippingTemplate.id)))


def access_template(session: Session, shop_id: int, template_id: int) -> ShippingTemplate:
    """The shop's template (404 for another shop's, rule 4 of docs/architecture.md)."""
    found = session.scalar(
        select(ShippingTemplate).where(
            ShippingTemplate.id == template_id, ShippingTemplate.shop_id == shop_id
        )
    )
    if found is None:
        raise NotFound("shipping.template_not_found", N_("This shipping template does not exist."))
    return found


def check_template(body: ShippingTemplateIn) -> None:
    """What the field types cannot say: units above zero, known province codes, each province in one
    place only (a rule, or excluded)."""
    for name in ("first_units", "further_units"):
        if getattr(body, name) == 0:
            raise Invalid(
                "shipping.zero_unit",
                N_("The first and further units must be more than zero."),
                details={"field": name},
            )
    provinces = {d.code for d in divisions.provinces()}
    named = [code for rule in body.province_rules for code in rule.provinces] + body.excluded_provinces
    unknown = sorted(set(named) - provinces)
    if unknown:
        raise Invalid(
            "shipping.unknown_province",
            N_("Unknown province code: {codes}."),
            codes=", ".join(unknown),
            details={"provinces": unknown},
        )
    twice = sorted({code for code in named if named.count(code) > 1})
    if twice:
        raise Invalid(
            "shipping.province_twice",
            N_("{names} appears more than once: give each province one rule, or exclude it."),
            names="、".join(_names(twice)),
            details={"provinces": twice},
        )


def _apply(session: Session, template: ShippingTemplate, body: ShippingTemplateIn) -> None:
    check_template(body)
    data = body.model_dump()
    data["province_rules"] = [
        {"provinces": r["provinces"], "first_fee": r["first_fee"], "further_fee": r["further_fee"]}
        for r in data["province_rules"]
    ]
    for name, value in data.items():
        setattr(template, name, value)
    if body.is_default:
        # One default per shop: the new one takes over.
        session.execute(
            update(ShippingTemplate)
            .where(ShippingTemplate.shop_id == template.shop_id, ShippingTemplate.id != template.id)
            .values(is_default=False)
        )


def _audit(session: Session, actor: Actor, template_id: int, what: str) -> None:
    record_audit(
        session, actor.shop_id, SETTINGS_CHANGED, actor=actor, target_type="shop", target_id=actor.shop_id,
        data={"setting": SETTING, "changed": [what], "template_id": template_id},
    )  # fmt: skip


def do_create_template(session: Session, actor: Actor, body: ShippingTemplateIn) -> ShippingTemplate:
    check_template(body)
    # The shop's first template is its default: otherwise products naming none would ship free.
    first = session.scalar(
        select(ShippingTemplate.id).where(ShippingTemplate.shop_id == actor.shop_id).limit(1)
    )
    if first is None:
        body = body.model_copy(update={"is_default": True})
    template = ShippingTemplate(shop_id=actor.shop_id, name=body.name)
    session.add(template)
    session.flush()
    _apply(session, template, body)
    session.flush()
    _audit(session, actor, template.id, "created")
    return template


def do_replace_template(
    session: Session, actor: Actor, template_id: int, body: ShippingTemplateIn
) -> ShippingTemplate:
    template = access_template(session, actor.shop_id, template_id)
    _apply(session, template, body)
    session.flush()
    _audit(session, actor, template.id, "changed")
    return template


def do_delete_template(session: Session, actor: Actor, template_id: int) -> None:
    """Products naming it fall back to the default (the key is SET NULL); orders keep their fee."""
    template = access_template(session, actor.shop_id, template_id)
    session.execute(
        update(Product)
        .where(Product.shop_id == actor.shop_id, Product.shipping_template_id == template.id)
        .values(shipping_template_id=None)
    )
    session.delete(template)
    session.flush()
    _audit(session, actor, template_id, "deleted")


def check_product_template(session: Session, shop_id: int, template_id: int | None) -> None:
    """A product may name only its own shop's template (another shop's id is a 404)."""
    if template_id is not None:
        access_template(session, shop_id, template_id)
