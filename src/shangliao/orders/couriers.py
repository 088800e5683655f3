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

# What people and the platforms' sheets call each courier (besides its code and two names). Listed,
# never guessed from a prefix: 中通快运, 顺丰快运 and 德邦快运 are other companies' freight arms, and
# 邮政速递 is EMS while 邮政快递包裹 is China Post's parcel service.
ALIASES: dict[str, tuple[str, ...]] = {
    "SF": ("顺丰", "顺丰快递", "顺丰速递"),
    "ZTO": ("中通", "中通速递"),
    "YTO": ("圆通", "圆通快递"),
    "YD": ("韵达", "韵达速递"),
    "STO": ("申通", "申通速递"),
    "JTSD": ("极兔", "极兔快递", "J&T", "JT"),
    "JD": ("京东", "京东快递"),
    "EMS": ("邮政EMS", "邮政速递", "中国邮政速递", "邮政特快专递", "中国邮政速递物流"),
    "YZPY": ("邮政", "邮政快递包裹", "邮政包裹", "中国邮政快递包裹", "邮政国内小包"),
    "DBL": ("德邦", "德邦物流"),
}
_BY_NAME = {
    name.upper(): code
    for code, c in COURIERS.items()
    for name in (code, c.name_zh, c.name_en, *ALIASES.get(code, ()))
}


def courier_from_text(text: str | None) -> str | None:
    """The courier a person's sheet names: its code (SF), a name (顺丰速运, SF Express) or a name
    people say (顺丰, 中通, 邮政); None when it names none of them exactly."""
    return _BY_NAME.get((text or "").strip().upper())


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
