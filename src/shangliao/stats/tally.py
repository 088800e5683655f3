"""What happened to a shop's orders, added up per local day, and written to the rollups.

The consumer makes a small tally of one event; a rebuild makes one of the whole shop. Both write it
the same way (:func:`write`): each row's numbers added to what the row holds, so one event's tally
lands on top of the others, and a rebuild (which empties the shop's rows first) writes them whole.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from shangliao.jobs.consumers import insert_for
from shangliao.stats.models import StatsDaily, StatsHourly, StatsProductDaily
from shangliao.storage.prepared import Prepared

DAILY = ("placed", "paid", "gmv", "refunds", "cancelled")
PRODUCT = ("quantity", "revenue")
OTHER_PRODUCT = 0  # the product_id of lines not taken from the catalog
WRITE_BATCH = 5_000  # rows per statement when a rebuild writes a shop's history


class Tally:
    """Numbers per (day, channel), (day, hour) and (day, product), the days in ``zone``."""

    def __init__(self, zone: str) -> None:
        self.zone = ZoneInfo(zone)
        self.daily: defaultdict[tuple[date, str], list[int]] = defaultdict(lambda: [0] * len(DAILY))
        self.hourly: defaultdict[tuple[date, int], int] = defaultdict(int)
        self.products: defaultdict[tuple[date, int], list[int]] = defaultdict(lambda: [0, 0])

    def _local(self, moment: datetime) -> datetime:
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(self.zone)

    def placed(self, moment: datetime, channel: str) -> None:
        local = self._local(moment)
        self.daily[local.date(), channel][0] += 1
        self.hourly[local.date(), local.hour] += 1

    def paid(
        self, moment: datetime, channel: str, amount: int, lines: Iterable[tuple[int | None, int, int]]
    ) -> None:
        """An order paid in full for ``amount``; ``lines`` are its (product id, quantity, amount)."""
        day = self._local(moment).date()
        row = self.daily[day, channel]
        row[1] += 1
        row[2] += amount
        for product_id, quantity, line_amount in lines:
            sold = self.products[day, product_id or OTHER_PRODUCT]
            sold[0] += quantity
            sold[1] += line_amount

    def refunded(self, moment: datetime, channel: str, amount: int) -> None:
        self.daily[self._local(moment).date(), channel][3] += amount

    def cancelled(self, moment: datetime, channel: str) -> None:
        self.daily[self._local(moment).date(), channel][4] += 1

    def __bool__(self) -> bool:
        return bool(self.daily or self.hourly or self.products)


# The adding statements, built and compiled once per database kind: the consumer writes after
# every order event, and building an upsert's ``excluded`` columns cost more than running it.
_ADDING: dict[tuple[str, type], Prepared] = {}


def _adding(conn: Connection, model: type, keys: tuple[str, ...], counts: tuple[str, ...]) -> Prepared:
    """``INSERT … ON CONFLICT (key) DO UPDATE SET n = n + excluded.n`` for each count."""
    found = _ADDING.get((conn.dialect.name, model))
    if found is None:
        statement = insert_for(conn)(model)
        table = model.__table__
        found = _ADDING[conn.dialect.name, model] = Prepared(
            statement.on_conflict_do_update(
                index_elements=list(keys),
                set_={name: table.c[name] + statement.excluded[name] for name in counts},
            )
        )
    return found


def write(conn: Connection, shop_id: int, tally: Tally) -> None:
    """Add ``tally`` to the shop's rollups."""
    groups = (
        (StatsDaily, ("shop_id", "day", "channel"), DAILY,
         [{"shop_id": shop_id, "day": d, "channel": c, **dict(zip(DAILY, v, strict=True))}
          for (d, c), v in tally.daily.items()]),
        (StatsHourly, ("shop_id", "day", "hour"), ("placed",),
         [{"shop_id": shop_id, "day": d, "hour": h, "placed": n} for (d, h), n in tally.hourly.items()]),
        (StatsProductDaily, ("shop_id", "day", "product_id"), PRODUCT,
         [{"shop_id": shop_id, "day": d, "product_id": p, "quantity": q, "revenue": r}
          for (d, p), (q, r) in tally.products.items()]),
    )  # fmt: skip
    for model, keys, counts, rows in groups:
        if not rows:
            continue
        adding = _adding(conn, model, keys, counts)
        for start in range(0, len(rows), WRITE_BATCH):
            adding.executemany(conn, rows[start : start + WRITE_BATCH])
