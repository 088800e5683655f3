"""Quantities in chat text: Chinese and arabic numerals followed by a counting unit.

Works on folded text (NFKC, lower case; see ``intent.text.fold``), so full-width digits are already
ASCII. What counts as a quantity:

- a numeral and a unit: ``两件``, ``3箱``, ``二十包``, ``一百瓶``, ``5 斤``;
- ``打`` (a dozen) multiplies: ``一打`` is 12 and ``半打`` 6, with no unit, because a dozen is a way to
  count pieces, not a package the shop sells;
- ``双`` and ``对`` are packages like ``箱``: ``一双袜子`` is quantity 1 of unit ``双`` (the shop sells
  socks by the pair, so doubling would order two pairs);
- ``俩`` and ``仨`` on their own mean 2 and 3 (``来俩``);
- a multiplication sign: ``x2``, ``×2``, ``*2``;
- a unit right after an ordering verb means one: ``来个``, ``要瓶``;
- bare arabic digits (at most three) when nothing after them says they are a date, a price or a
  size; the caller decides whether a bare number is a quantity or a variant word.
Only whole numbers from 1 to ``MAX_QUANTITY`` are quantities (1.5斤 is none); 第一件 is an ordinal.
Chinese numerals need a unit, since ``一`` starts countless ordinary words (一下, 一样, 一直).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_QUANTITY = 9999

UNITS = [
    "公斤",
    "千克",
    "kg",
    "件",
    "个",
    "箱",
    "瓶",
    "包",
    "盒",
    "袋",
    "双",
    "套",
    "份",
    "条",
    "斤",
    "杯",
    "支",
    "罐",
    "桶",
    "提",
    "只",
    "片",
    "听",
    "卷",
    "串",
    "对",
    "副",
    "本",
    "张",
    "台",
    "把",
    "根",
    "颗",
    "粒",
    "枚",
    "组",
    "排",
    "板",
    "扎",
    "捆",
    "筐",
    "束",
    "盆",
    "块",
]
# "块" is kept as a unit for "两块肥皂", but "块钱" is a price: see _NOT_COUNTED.

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_CN_DIGITS.update({"六": 6, "七": 7, "八": 8, "九": 9})
_CN_POWERS = {"十": 10, "百": 100, "千": 1000}
_CN_NUMERAL = "[零〇一二两三四五六七八九十百千万]+"
_UNIT = "(?:" + "|".join(sorted(map(re.escape, UNITS), key=len, reverse=True)) + ")"
_ORDER_VERBS = "来要拿买整加订拍"

_DOZEN = re.compile(rf"({_CN_NUMERAL}|\d+|半) *打")
_COUNTED = re.compile(rf"({_CN_NUMERAL}|\d+(?:\.\d+)?) *({_UNIT})")
_PAIR_WORDS = re.compile(rf"([俩仨]) *({_UNIT})?")
_TIMES = re.compile(r"[x×*] *(\d{1,4})(?![\d.])")
_BARE = re.compile(r"(\d{1,3})(?![\d.])")
_IMPLICIT_ONE = re.compile(rf"{_UNIT}")
# Digits followed by these are dates, times, prices, ages or measures, not quantities.
_NOT_COUNTED = re.compile(r" *(?:号|天|点|月|日|年|元|块钱|毛|折|%|分|秒|岁|度|层|寸|cm|米|码|g|ml|l)")
_STARTS = set("0123456789零〇一二两三四五六七八九十百千万半俩仨x×*") | {u[0] for u in UNITS}


@dataclass(frozen=True)
class QuantityMatch:
    start: int
    end: int
    quantity: int
    unit: str | None


def chinese_int(text: str) -> int | None:
    """The value of a Chinese numeral such as 十二, 二十, 一百零五, 两千; None if it is not one."""
    total = section = digit = 0
    seen = False
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
            seen = True
        elif ch in _CN_POWERS:
            # A power with no digit before it counts once: 十二 is 12, 一百十 is 110.
            section += (digit or 1) * _CN_POWERS[ch]
            digit, seen = 0, True
        elif ch == "万":
            total += (section + digit) * 10000
            section = digit = 0
        else:
            return None
    value = total + section + digit
    return value if seen or value else None


def parse_number(text: str) -> int | float | None:
    if text[:1].isdigit():
        return float(text) if "." in text else int(text)
    return chinese_int(text)


def _whole(value: int | float | None) -> int | None:
    if value is None or value != int(value) or not 1 <= value <= MAX_QUANTITY:
        return None
    return int(value)


def may_start_quantity(ch: str) -> bool:
    return ch in _STARTS


def match_quantity(text: str, pos: int) -> QuantityMatch | None:
    """The quantity that starts exactly at ``pos`` of folded text, if any."""
    ch = text[pos]
    if ch not in _STARTS:
        return None
    if pos and (text[pos - 1] == "第" or (ch.isdigit() and text[pos - 1] in "0123456789.")):
        return None  # an ordinal (第一件), or the tail of a longer number
    found = _DOZEN.match(text, pos)
    if found:
        count = 0.5 if found.group(1) == "半" else parse_number(found.group(1))
        quantity = _whole(count * 12) if count else None
        return QuantityMatch(pos, found.end(), quantity, None) if quantity else None
    found = _COUNTED.match(text, pos)
    if found and not (found.group(2) == "块" and text.startswith("钱", found.end())):
        quantity = _whole(parse_number(found.group(1)))
        return QuantityMatch(pos, found.end(), quantity, found.group(2)) if quantity else None
    found = _PAIR_WORDS.match(text, pos)
    if found:
        return QuantityMatch(pos, found.end(), 2 if found.group(1) == "俩" else 3, found.group(2))
    if ch in "x×*" and not (pos and text[pos - 1].isascii() and text[pos - 1].isalpha()):
        found = _TIMES.match(text, pos)
        quantity = _whole(int(found.group(1))) if found else None
        return QuantityMatch(pos, found.end(), quantity, None) if quantity else None
    if ch.isdigit():
        found = _BARE.match(text, pos)
        if found and not _NOT_COUNTED.match(text, found.end()):
            quantity = _whole(int(found.group(1)))
            return QuantityMatch(pos, found.end(), quantity, None) if quantity else None
        return None
    if pos and text[pos - 1] in _ORDER_VERBS:
        found = _IMPLICIT_ONE.match(text, pos)
        if found:
            return QuantityMatch(pos, found.end(), 1, found.group())
    return None
