"""The process-wide parts a request needs, built once by ``create_app`` or a CLI command."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from shangliao.assignment import auto
from shangliao.config import Settings, ensure_data_dir
from shangliao.core import keys, keys_data
from shangliao.core.crypto import Keyring
from shangliao.events import log
from shangliao.events.bus import Bus, make_bus
from shangliao.notifications import triggers
from shangliao.storage.database import Database
from shangliao.web.rate_limits import RateLimits

# Round-robin for new conversations, then the notification centre (which tells the assignee),
# hear of every change as it is written (events/log.py WATCHERS).
for _watcher in (auto.on_rows, triggers.on_rows):
    if _watcher not in log.WATCHERS:
        log.WATCHERS.append(_watcher)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    keyring: Keyring
    bus: Bus
    limits: RateLimits

    @classmethod
    def build(cls, settings: Settings, *, check_keys: bool = True) -> Runtime:
        """``check_keys``: refuse (``keys_data.MissingKeyError``) when the data needs a key the
        ring lacks; only ``shangliao keys`` commands look at such data without it."""
        ensure_data_dir(settings)
        bus = make_bus(settings.redis_url)
        db = Database(
            settings.resolved_database_url,
            synchronous=settings.sqlite_synchronous,
            pool_size=settings.db_pool_size,
            echo=settings.log_sql,
            bus=bus,
            statement_timeout=settings.db_statement_timeout,
            connect_timeout=settings.db_connect_timeout,
            pool_timeout=settings.db_pool_timeout,
        )
        runtime = cls(
            settings=settings,
            db=db,
            keyring=Keyring.from_settings(settings),
            bus=bus,
            limits=RateLimits(settings.redis_url),
        )
        if check_keys:
            try:
                keys_data.refuse_missing_keys(db.reader, runtime.keyring, keys.source(settings).describe())
            except BaseException:
                runtime.close()
                raise
        return runtime

    def close(self) -> None:
        self.bus.close()
        self.db.dispose()


async def get_runtime(request: Request) -> Runtime:
    # async on purpose: a plain attribute read should not cost a trip through the threadpool.
    return request.app.state.runtime
