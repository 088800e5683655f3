"""The address fields every console form shares: receiver, mobile, region pickers and street.

Regions travel as GB/T 2260 codes between the page and the server (so a picked 朝阳区 is never
confused between 北京 and 长春) and are stored as names, the way the address is printed.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from shangliao.addresses import divisions
from shangliao.core.errors import Invalid
from shangliao.core.field_labels import field_names

REGION_FIELDS = ("province_code", "city_code", "district_code")
# What an address cannot do without (the district may be empty: 东莞市 has none), in the form's order.
REQUIRED = ("receiver", "phone", "province", "city", "detail")


def address_fields(
    *, receiver: str = "", phone: str = "", detail: str = "", province_code: str = "", city_code: str = "",
    district_code: str = "",
) -> dict[str, Any]:  # fmt: skip
    """What ``orders/_address_fields.html`` shows, with the option lists under the picked regions."""
    return {
        "receiver": receiver,
        "phone": phone,
        "detail": detail,
        "province_code": province_code,
        "city_code": city_code,
        "district_code": district_code,
        "cities": divisions.children(province_code) if province_code else [],
        "districts": divisions.children(city_code) if city_code else [],
    }


def fields_for(address: dict[str, str] | None) -> dict[str, Any]:
    """The fields for a stored address (names), its regions looked up again by name."""
    if not address:
        return address_fields()
    province = divisions.find(address.get("province", ""))
    city = divisions.find(address.get("city", ""), province.code if province else None) if province else None
    district = divisions.find(address.get("district", ""), city.code if city else None) if city else None
    return address_fields(
        receiver=address.get("receiver", ""),
        phone=address.get("phone", ""),
        detail=address.get("detail", ""),
        province_code=province.code if province else "",
        city_code=city.code if city else "",
        district_code=district.code if district else "",
    )


def address_from_form(form: FormData) -> dict[str, str]:
    """The posted fields as an address (names); the ``Address`` model then validates it."""
    names = {}
    for field in REGION_FIELDS:
        found = divisions.lookup(str(form.get(field) or ""))
        names[field.removesuffix("_code")] = found.name if found else ""
    return {
        "receiver": str(form.get("receiver") or "").strip(),
        "phone": str(form.get("phone") or "").strip(),
        **names,
        "detail": str(form.get("detail") or "").strip(),
    }


def check_filled(address: dict[str, str], code: str, message: str) -> None:
    """Refuse an address with blank fields, naming all of them at once in the reader's language
    (``message`` has ``{fields}``): a blank mobile would otherwise be refused alone, as a bad number."""
    blank = [f for f in REQUIRED if not address.get(f)]
    if blank:
        raise Invalid(code, message, fields=field_names(blank), details={"fields": blank})
