"""Couriers merchants ship with, their common codes and a public tracking page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from shangliao.core.errors import Invalid
from shangliao.core.i18n import N_


@dataclass(frozen=True)
class Courier:
    code: str
    name_zh: str
    name_en: str
    kuaidi100: str  # the company code on kuaidi100.com, a public tracking page for every carrier

    def name(self, locale: str | None) -> str:
        """The courier's name for a reader of ``locale`` (Chinese unless English is asked for)."""
        return self.name_en if locale == "en" else self.name_zh

    def tracking_url(self, tracking_number: str) -> str:
        return f"https://www.kuaidi100.com/chaxun?com={self.kuaidi100}&nu={quote(tracking_number)}"


COURIERS: dict[str, Courier] = {
    c.code: c
    for c in (
        Courier("SF", "顺丰速运", "SF Express", "shunfeng"),
        Courier("ZTO", "中通快递", "ZTO Express", "zhongtong"),
        Courier("YTO", "圆通速递", "YTO Express", "yuantong"),
        Courier("YD", "韵达快递", "Yunda Express", "yunda"),
        Courier("STO", "申通快递", "STO Express", "shentong"),
        Courier("JTSD", "极兔速递", "J&T Express", "jtexpress"),
        Courier("JD", "京东物流", "JD Logistics", "jd"),
        Courier("EMS", "EMS", "EMS", "ems"),
        Courier("YZPY", "中国邮政", "China Post", "youzhengguonei"),
        Courier("DBL", "德邦快递", "Deppon Express", "debangkuaidi"),
    )
}

_GENERIC = ("速运", "速递", "快递", "物流", "快运")


def courier_from_text(text: str | None) -> str | None:
    """The courier a person's sheet names: its code (SF), its name (顺丰速运, SF Express) or the
    name people say (顺丰, 中通, 邮政); None when it names none of them."""
    given = (text or "").strip()
    if not given:
        return None
    upper = given.upper()
    for code, courier in COURIERS.items():
        if upper in (code, courier.name_en.upper(), courier.name_zh.upper()):
            return code
    short = given.removeprefix("中国")
    for suffix in _GENERIC:
        short = short.removesuffix(suffix)
    if len(short) < 2:
        return None
    found = [code for code, c in COURIERS.items() if c.name_zh.removeprefix("中国").startswith(short)]
    return found[0] if len(found) == 1 else None


# Waybill numbers are letters and digits (SF starts with "SF", J&T with "JT"); no spaces or symbols.
TRACKING_RE = re.compile(r"^[A-Za-z0-9]{6,32}$")


def check_tracking(carrier_code: str, tracking_number: str) -> None:
    if carrier_code not in COURIERS:
        raise Invalid(
            "order.unknown_carrier",
            N_("Unknown courier {code}."),
            code=carrier_code,
            details={"known": sorted(COURIERS)},
        )
    if not TRACKING_RE.match(tracking_number):
        raise Invalid(
            "order.bad_tracking_number",
            N_("A tracking number is 6-32 letters or digits."),
        )


def tracking_url(carrier_code: str | None, tracking_number: str | None) -> str | None:
    courier = COURIERS.get(carrier_code or "")
    return courier.tracking_url(tracking_number) if courier and tracking_number else None


def courier_name(code: str | None, locale: str | None) -> str | None:
    """The name of the courier with ``code`` for ``locale``; an unknown code as it is."""
    courier = COURIERS.get(code or "")
    return courier.name(locale) if courier else code
