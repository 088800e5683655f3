"""The one place that reads the time, so tests can move it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

_frozen: datetime | None = None

# The moments a caller may hand us (filters, payment times, cursors): generous for any real order,
# and far enough from Python's year 1 and 9999 that a time-zone shift or "the next day" cannot
# overflow on the way to the database.
EARLIEST = date(1900, 1, 1)
LATEST = date(9000, 1, 1)


def now() -> datetime:
    """Current time, timezone-aware UTC."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def freeze(at: datetime | None) -> None:
    """Pin ``now()`` to ``at`` (aware) or release it with ``None``. Tests only."""
    global _frozen
    _frozen = at


def local(moment: datetime, tz: str) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(tz))


def in_range(moment: date) -> bool:
    """Whether ``moment`` (a date or datetime) lies in [EARLIEST, LATEST)."""
    day = moment.date() if isinstance(moment, datetime) else moment
    return EARLIEST <= day < LATEST
