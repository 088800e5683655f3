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
from shangliao.auth.access import staff
from shangliao.auth.actor import Actor
from shangliao.core.errors import NotFound
from shangliao.core.i18n import N_
from shangliao.core.schemas import StrictModel

router = APIRouter(tags=["addresses"])

MAX_PASTE_LENGTH = 500
# The division table only changes with a release: let the console's picker keep what it loaded.
REGIONS_CACHE_CONTROL = "private, max-age=3600"


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
    if parent is not None and divisions.lookup(parent) is None:
        raise NotFound("region.not_found", N_("No such region."))
    response.headers["Cache-Control"] = REGIONS_CACHE_CONTROL
    return [_region_out(d) for d in divisions.children(parent)]


@router.post("/addresses/parse", response_model=ParsedAddressOut)
def parse_pasted_address(body: ParseIn, actor: Actor = Depends(staff("orders.read"))):
    """Split a pasted address (receiver, phone, region, street) into fields; nothing is stored."""
    return ParsedAddressOut(**asdict(parse_address(body.text)))
