"""Rate limits for what anyone may call without an account (the shop page's sign-up).

Counted in Redis when ``SHANGLIAO_REDIS_URL`` is set, so every process shares one count; otherwise
in this process (one process is all SQLite runs).
"""

from __future__ import annotations

import math
import time

from limits import parse, storage, strategies

from shangliao.core.errors import TooManyRequests
from shangliao.core.i18n import N_


class RateLimits:
    def __init__(self, redis_url: str | None) -> None:
        store = storage.RedisStorage(redis_url) if redis_url else storage.MemoryStorage()
        self._limiter = strategies.MovingWindowRateLimiter(store)

    def check(self, rule: str, *key: str) -> None:
        """Count one attempt of ``key`` against ``rule`` ("30/hour"); refuse it (429) when over."""
        item = parse(rule)
        if self._limiter.hit(item, *key):
            return
        reset = self._limiter.get_window_stats(item, *key).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        raise TooManyRequests(
            "rate.limited",
            N_("Too many attempts. Try again in {seconds} seconds."),
            retry_after=wait,
            seconds=wait,
        )
