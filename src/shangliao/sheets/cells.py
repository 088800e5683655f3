"""Reading one cell of an uploaded sheet as what it should mean: text, a yuan amount in fen.

A spreadsheet makes numbers of what was typed as digits (26120700017, 2.6e10, a SKU 1001): those
come back whole. A number too long to be exact was rounded before it reached us, so it is no value.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

EXACT_DIGITS = 10**15  # a spreadsheet keeps 15 digits of a number; past that it has rounded it
_PRICE_NOISE = re.compile(r"[¥￥,，\s]|元$")
_CENT = Decimal("0.01")
MAX_YUAN = Decimal(1_000_000)  # a variant's price and an order line's both stop there


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
    """A price cell (12.5, "¥12.50", "12.5元") in fen, at most a catalog price's 1,000,000 yuan;
    ValueError for anything else. A number a formula made (=19.9*3 is stored as 59.699999999999996)
    counts as the cents it is within a millionth of."""
    if isinstance(value, float) and abs(value - round(value, 2)) < 1e-6:
        value = round(value, 2)
    try:
        text = repr(value) if isinstance(value, float) else _PRICE_NOISE.sub("", str(value))
        amount = Decimal(text)
        if not amount.is_finite() or amount < 0 or amount > MAX_YUAN or amount != amount.quantize(_CENT):
            raise ValueError(value)
    except InvalidOperation:
        raise ValueError(value) from None
    return int(amount * 100)
