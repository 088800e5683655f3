"""The one place that reads the time, so tests can move it."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

_frozen: datetime | None = None


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
