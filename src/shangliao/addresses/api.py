"""HTTP routes for the address picker and smart paste (mounted under ``/api/v1`` by ``web/api.py``).

The pasted text travels in a POST body, never in a URL: it carries a name and a phone (rule 12 of docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from shangliao.addresses import divisions
from shangliao.addresses.smart_paste import parse_address
from shangliao.auth.access import public, staff
from shangliao.auth.actor import Actor
from shangliao.core.errors import NotFound
from shangliao.core.i18n import N_
from shangliao.core.schemas import StrictModel

router = APIRouter(tags=["addresses"])
# The same divisions for anyone: a customer's phone picks its province → city → district without a
# staff sign-in (``/api/v1/public/regions``, mounted by ``web/api.py``).
public_router = APIRouter(tags=["addresses"])

MAX_PASTE_LENGTH = 500
# The division table only changes with a release: let the console's picker keep what it loaded.
REGIONS_CACHE_CONTROL = "private, max-age=3600"
# Public data (GB/T 2260), the same for everyone: shared caches may keep it too.
PUBLIC_REGIONS_CACHE_CONTROL = "public, max-age=86400"


class RegionOut(BaseModel):
    code: str = Field(description="GB/T 2260 code, six digits.")
    name: str
    level: int = Field(description="1 province, 2 city, 3 district.")
    leaf: bool = Field(description="True when the division has no children (a district, or 东莞市).")


class ParseIn(StrictModel):
    text: str = Field(min_length=1, max_length=MAX_PASTE_LENGTH, description="The pasted address.")


class ParsedAddressOut(BaseModel):
    receiver: str
    phone: str
    province: str
    city: str
    district: str
    detail: str
    province_code: str
    city_code: str
    district_code: str
    phone_kind: str = Field(description='"mobile", "landline", "unverified" or "" when none was found.')
    other_phones: list[str]
    note: str = Field(description="Delivery instructions found in the text, kept out of the detail.")
    missing: list[str] = Field(description="Fields that could not be filled in and need a look.")


def _region_out(division: divisions.Division) -> RegionOut:
    return RegionOut(
        code=division.code,
        name=division.name,
        level=division.level,
        leaf=not divisions.children(division.code),
    )


@router.get("/regions", response_model=list[RegionOut])
def list_regions(
    response: Response,
    parent: Annotated[
        str | None, Query(pattern=r"^\d{6}$", description="A division code; provinces when omitted.")
    ] = None,
    actor: Actor = Depends(staff("orders.read")),
):
    """The children of a division for a province → city → district picker (provinces without `parent`)."""
    response.headers["Cache-Control"] = REGIONS_CACHE_CONTROL
    return _children(parent)


def _children(parent: str | None) -> list[RegionOut]:
    if parent is not None and divisions.lookup(parent) is None:
        raise NotFound("region.not_found", N_("No such region."))
    return [_region_out(d) for d in divisions.children(parent)]


@public_router.get("/public/regions", response_model=list[RegionOut], dependencies=[Depends(public())])
def list_public_regions(
    response: Response,
    parent: Annotated[
        str | None, Query(pattern=r"^\d{6}$", description="A division code; provinces when omitted.")
    ] = None,
):
    """The same children as ``/regions``, read-only for anyone (the shop's order form), long cached."""
    response.headers["Cache-Control"] = PUBLIC_REGIONS_CACHE_CONTROL
    return _children(parent)


@router.post("/addresses/parse", response_model=ParsedAddressOut)
def parse_pasted_address(body: ParseIn, actor: Actor = Depends(staff("orders.read"))):
    """Split a pasted address (receiver, phone, region, street) into fields; nothing is stored."""
    return ParsedAddressOut(**asdict(parse_address(body.text)))
