"""Order numbers: ``yyMMdd`` in the shop's time zone + the day's sequence, e.g. ``26112600042``.

Digits only and at most 32 characters, so the number (plus a short suffix per payment attempt) is a
valid ``out_trade_no`` for WeChat Pay and Alipay (rule 6 of docs/architecture.md).
"""

from __future__ import annotations

from datetime import datetime

from shangliao.core.clock import local


def order_day(moment: datetime, timezone: str) -> str:
    return local(moment, timezone).strftime("%y%m%d")


def format_number(day: str, seq: int) -> str:
    return f"{day}{seq:05d}"


def payment_trade_no(order_number: str, attempt: int) -> str:
    return f"{order_number}P{attempt:02d}"
