"""The days a report covers: a range the caller asks for, in the shop's time zone, and the
periods the dashboard compares (today, this month, each with the same stretch before)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property, lru_cache

from pydantic import Field

from shangliao.core import clock
from shangliao.core.errors import Invalid
from shangliao.core.i18n import N_
from shangliao.core.schemas import StrictModel

DEFAULT_DAYS = 30
MAX_DAYS = 366  # a year, a leap one included: a report reads at most this many days of rollups


class RangeQuery(StrictModel):
    """``?from=&to=``: whole days in the shop's time zone, both included."""

    start: date | None = Field(
        None,
        alias="from",
        description="First day (YYYY-MM-DD, the shop's zone); default 29 days before `to`.",
    )
    end: date | None = Field(None, alias="to", description="Last day, included; default today.")


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # included

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def iso_days(self) -> tuple[str, ...]:
        """Each day as ``YYYY-MM-DD`` (the rollups' days read as text, stats/overview.py)."""
        return _iso_days(self.start, self.end)

    def before(self) -> Period:
        """The same number of days just before."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def holds(self, day: date) -> bool:
        return self.start <= day <= self.end

    @cached_property
    def bounds(self) -> tuple[str, str]:
        """First and last day as ``YYYY-MM-DD`` (made once: the overview asks each period's twice)."""
        return self.start.isoformat(), self.end.isoformat()

    def out(self) -> dict[str, str]:
        start, end = self.bounds
        return {"from": start, "to": end}


@lru_cache(maxsize=256)
def _iso_days(start: date, end: date) -> tuple[str, ...]:
    # Kept: the dashboard asks the same days all day long, and making 30 of them costs ~30 µs.
    return tuple(date.fromordinal(day).isoformat() for day in range(start.toordinal(), end.toordinal() + 1))


def today_in(timezone: str) -> date:
    return clock.local(clock.now(), timezone).date()


def asked(query: RangeQuery, timezone: str) -> Period:
    """The range asked for, checked: in order and at most :data:`MAX_DAYS` days (422 otherwise)."""
    end = query.end or today_in(timezone)
    start = query.start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise Invalid(
            "stats.range_reversed",
            N_("The range starts ({start}) after it ends ({end})."),
            start=start.isoformat(),
            end=end.isoformat(),
        )
    if (end - start).days + 1 > MAX_DAYS:
        raise Invalid(
            "stats.range_too_long",
            N_("A range covers at most {days} days."),
            days=MAX_DAYS,
            details={"max_days": MAX_DAYS},
        )
    return Period(start, end)


def month_to_date(today: date) -> tuple[Period, Period]:
    """This month up to today, and the month before up to the same day of it (the 31st of March is
    compared with the whole of February)."""
    this = Period(today.replace(day=1), today)
    last_end = this.start - timedelta(days=1)
    last = Period(last_end.replace(day=1), last_end.replace(day=min(today.day, last_end.day)))
    return this, last
