"""Money is an integer number of fen (1/100 yuan) everywhere; these helpers only format it."""

from __future__ import annotations

# Amounts are stored in 32-bit INTEGER columns (PostgreSQL's INTEGER; SQLite's would hold more, so
# the limit is enforced in code for both): ¥21,474,836.47 is the most one order can be worth.
MAX_AMOUNT = 2**31 - 1


def format_yuan(fen: int) -> str:
    """``12345`` → ``"¥123.45"``; negative amounts keep their sign in front of the symbol."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"


def parse_yuan(text: str) -> int:
    """``"123.4"`` → ``12340``. Refuses more than two decimals instead of rounding silently."""
    raw = text.strip().replace("¥", "").replace(",", "").replace("，", "")
    negative = raw.startswith("-")
    raw = raw.lstrip("-")
    whole, _, frac = raw.partition(".")
    if not whole.isdigit() and not (whole == "" and frac.isdigit()):
        raise ValueError(f"not an amount: {text!r}")
    if len(frac) > 2 or (frac and not frac.isdigit()):
        raise ValueError(f"at most two decimals: {text!r}")
    fen = int(whole or 0) * 100 + int((frac + "00")[:2])
    return -fen if negative else fen
