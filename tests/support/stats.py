"""The dashboard's rollups in tests: the stats consumer run until it has passed the shop's log,
and the rows it made, for comparing with a rebuild."""

from __future__ import annotations

from sqlalchemy import select

from shangliao.jobs.consumers import run_consumer
from shangliao.runtime import Runtime
from shangliao.stats.models import CONSUMER, StatsDaily, StatsHourly, StatsProductDaily
from tests.support.shops import ShopFixture


def catch_up(runtime: Runtime, shop: ShopFixture) -> None:
    """What the worker does for the shop: consumer units until none passes an event."""
    while run_consumer(runtime, CONSUMER, shop.id):
        pass


def rollups(runtime: Runtime, shop_id: int) -> dict[str, set[tuple]]:
    """Every rollup row of the shop (without zero rows, which a rebuild does not write)."""
    out: dict[str, set[tuple]] = {}
    with runtime.db.read() as session:
        for model in (StatsDaily, StatsHourly, StatsProductDaily):
            table = model.__table__
            columns = [c for c in table.c if c.name != "shop_id"]
            rows = session.execute(select(*columns).where(table.c.shop_id == shop_id)).all()
            out[table.name] = {tuple(r) for r in rows if any(v for v in r[len(table.primary_key) - 1 :])}
    return out
