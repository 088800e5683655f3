"""Mainland China mobile numbers: validated and normalised to 11 digits with ``phonenumbers``."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from shangliao.core.errors import Invalid
from shangliao.core.i18n import N_

MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


def normalize_mobile(raw: str) -> str:
    """``"+86 138-1234-5678"`` → ``"13812345678"``; anything that is not a CN mobile is refused."""
    cleaned = "".join(ch for ch in str(raw) if ch.isdigit() or ch == "+")
    try:
        parsed = phonenumbers.parse(cleaned, "CN")
    except NumberParseException as exc:
        raise Invalid(
            "phone.invalid", N_("{phone} is not a valid mainland mobile number."), phone=raw
        ) from exc
    if (
        parsed.country_code != 86
        or not phonenumbers.is_valid_number(parsed)
        or phonenumbers.number_type(parsed) not in MOBILE_TYPES
    ):
        raise Invalid("phone.invalid", N_("{phone} is not a valid mainland mobile number."), phone=raw)
    return str(parsed.national_number)


def mask_mobile(phone: str) -> str:
    """``13812345678`` → ``138****5678`` for places that only need to recognise a number."""
    return phone[:3] + "****" + phone[-4:] if len(phone) == 11 else phone
