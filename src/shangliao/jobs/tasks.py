"""What runs on a timer, in one list: each task with its period (jobs/periodic.py)."""

from __future__ import annotations

from datetime import timedelta

from shangliao.chat import generations
from shangliao.chat.verify import sign_heads
from shangliao.jobs.periodic import every
from shangliao.orders.sweeps import SWEEP_EVERY, sweep_every_shop
from shangliao.runtime import Runtime


@every(SWEEP_EVERY, "orders.sweep")
def sweep_orders(rt: Runtime) -> object:
    """Each shop's 自动处理: unpaid orders cancelled, receipts confirmed, finished orders archived."""
    return sweep_every_shop(rt.db)


@every(timedelta(hours=1), "chat.checkpoint")
def checkpoint_chats(rt: Runtime) -> int:
    """Sign the heads that moved and each shop's list of conversations (what `shangliao chat
    checkpoint` does by hand), recording the generations beside the data."""
    return sign_heads(rt.db, rt.keyring, None, generations_file=generations.path_in(rt.settings.data_dir))


# Imported for what they register: the rules engine's consumer of the event log and its retries.
from shangliao.automation import engine as _rules  # noqa: E402, F401
