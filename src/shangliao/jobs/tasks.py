"""What runs on a timer, in one list: each task with its period (jobs/periodic.py)."""

from __future__ import annotations

from datetime import timedelta

from shangliao.chat import generations
from shangliao.chat.verify import sign_heads
from shangliao.exports import service as exports
from shangliao.jobs.periodic import every
from shangliao.orders.sweeps import SWEEP_EVERY, sweep_every_shop
from shangliao.runtime import Runtime
from shangliao.sheets import uploads
from shangliao.stats import rebuild as stats_rebuild
from shangliao.webhooks import deliver


@every(SWEEP_EVERY, "orders.sweep")
def sweep_orders(rt: Runtime) -> object:
    """Each shop's 自动处理: unpaid orders cancelled, receipts confirmed, finished orders archived."""
    return sweep_every_shop(rt.db)


@every(timedelta(hours=1), "chat.checkpoint")
def checkpoint_chats(rt: Runtime) -> int:
    """Sign the heads that moved and each shop's list of conversations (what `shangliao chat
    checkpoint` does by hand), recording the generations beside the data."""
    return sign_heads(rt.db, rt.keyring, None, generations_file=generations.path_in(rt.settings.data_dir))


@every(timedelta(days=1), "webhooks.prune")
def prune_webhooks(rt: Runtime) -> int:
    """Forget webhook tries and finished deliveries older than 30 days."""
    return deliver.prune(rt)


@every(SWEEP_EVERY, "stats.backfill")
def backfill_stats(rt: Runtime) -> int:
    """The dashboard's rollups made for the shops the stats consumer does not follow yet (shops
    older than the rollups, a shop whose time zone changed)."""
    return stats_rebuild.backfill(rt)


@every(timedelta(hours=1), "exports.expire")
def expire_exports(rt: Runtime) -> int:
    """Exports nobody downloaded within a day, and sheets previewed but not imported within the
    hour: their files removed."""
    return exports.expire(rt) + uploads.expire(rt)


# Imported for what they register: the consumers of the event log (rules and their retries,
# webhooks, the dashboard's rollups).
from shangliao.automation import engine as _rules  # noqa: E402, F401
from shangliao.stats import consumer as _stats  # noqa: E402, F401
from shangliao.webhooks import consumer as _webhooks  # noqa: E402, F401
