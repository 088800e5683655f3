"""Reading one cell of an uploaded sheet as what it should mean: text, a yuan amount in fen.

A spreadsheet makes numbers of what was typed as digits (26120700017, 2.6e10, a SKU 1001): those
come back whole. A number too long to be exact was rounded before it reached us, so it is no value.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from shangliao.core.money import MAX_AMOUNT

EXACT_DIGITS = 10**15  # a spreadsheet keeps 15 digits of a number; past that it has rounded it
_PRICE_NOISE = re.compile(r"[¥￥,，\s]|元$")


def text_of(value: Any) -> str | None:
    """A cell as text (None when blank, or a number too long or fractional to be an id)."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if abs(value) >= EXACT_DIGITS or (isinstance(value, float) and not value.is_integer()):
            return None
        value = int(value)
    return str(value).strip() or None


def fen_of(value: Any) -> int:
    """A price cell (12.5, "¥12.50", "12.5元") in fen; ValueError for anything else."""
    try:
        text = repr(value) if isinstance(value, float) else _PRICE_NOISE.sub("", str(value))
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(value) from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValueError(value)
    fen = int(amount * 100)
    if fen > MAX_AMOUNT:
        raise ValueError(value)
    return fen
