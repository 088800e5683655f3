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
