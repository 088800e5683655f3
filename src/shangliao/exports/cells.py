"""What goes into a cell: nothing a spreadsheet could take for a formula, nothing it refuses.

In an xlsx every text is written as a string cell (``write_string``), so a value such as
``=HYPERLINK(...)`` stays text whatever it begins with. A CSV has no types: a spreadsheet reads a
field beginning with = + - @ tab or CR as a formula, so such a field gets a leading apostrophe.
Characters XML 1.0 forbids (C0 controls but tab, newline and CR; lone surrogates; U+FFFE/FFFF)
would make the file unreadable: they are dropped, not fatal.
"""

from __future__ import annotations

import re
from datetime import datetime

from shangliao.core import clock

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def clean(text: str) -> str:
    """``text`` without the characters a sheet cannot hold."""
    return _FORBIDDEN.sub("", text)


def csv_text(text: str) -> str:
    """A CSV field that no spreadsheet evaluates."""
    text = clean(text)
    return "'" + text if text.startswith(_FORMULA_START) else text


def local_moment(moment: datetime | None, timezone: str) -> datetime | None:
    """A time as the shop reads it, to the second, without its zone (a spreadsheet's dates have none)."""
    return None if moment is None else clock.local(moment, timezone).replace(tzinfo=None, microsecond=0)
