"""Scheduled work (issue 14): the shop's 自动处理 sweeps and the hourly chat checkpoint, run by a
real worker over a clock that jumps, on both databases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from shangliao.inventory.models import StockMovement
from shangliao.jobs import periodic
from shangliao.jobs.models import Job
from shangliao.jobs.periodic import Periodic, Schedule
from shangliao.jobs.worker import Worker
from tests.support.aftersales import buy
from tests.support.catalog import make_product
from tests.support.console import sign_in
from tests.support.orders import act, make_order

SHIP = {"carrier_code": "SF", "tracking_number": "SF1234567890"}
# A moment on a 5-minute and an hour boundary, far from every other test's data.
T0 = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def product(runtime, shop):
    return make_product(runtime, shop, name="帆布包", stock=20, price=3000)


@pytest.fixture
def worker(runtime, monkeypatch):
    """A worker whose timer runs the order sweeps only (the hourly checkpoint over every test's
    conversations has its own test)."""
    monkeypatch.setattr(periodic, "TASKS", {"orders.sweep": periodic.TASKS["orders.sweep"]})
    return Worker(runtime, poll_seconds=30)


def set_workflow(shop, **fields) -> None:
    assert shop.api.put("/api/v1/workflow", json=fields).status_code == 200


def state(shop, order: dict) -> dict:
    return shop.api.get(f"/api/v1/orders/{order['id']}").json()


def runs_of(runtime, kind: str) -> list:
    """The task's runs (rows of key, status and last error), oldest first."""
    with runtime.db.read() as session:
        return list(
            session.execute(
                select(Job.idempotency_key, Job.status, Job.last_error)
                .where(Job.kind == kind)
                .order_by(Job.id)
            )
        )


def pay(shop, order: dict, amount: int) -> None:
    r = shop.api.post(
        f"/api/v1/orders/{order['id']}/payments", json={"method": "bank_transfer", "amount": amount}
    )
    assert r.status_code == 201, r.text


def test_unpaid_orders_are_cancelled_after_the_shops_hours_and_their_stock_released(
    runtime, shop, product, worker, frozen
):
    frozen(T0)
    unpaid = make_order(shop, [(product.variant_id, 2)])
    part_paid = make_order(shop, [(product.variant_id, 1)])
    pay(shop, part_paid, 1000)
    paid = make_order(shop, [(product.variant_id, 1)])
    pay(shop, paid, paid["total"])
    set_workflow(shop, expire_unpaid_hours=2)

    frozen(T0 + timedelta(hours=1, minutes=59))
    worker.run_once()
    assert state(shop, unpaid)["status"] == "pending"

    frozen(T0 + timedelta(hours=2, minutes=5))
    worker.run_once()

    gone = state(shop, unpaid)
    assert gone["status"] == "cancelled" and gone["cancel_reason"] == "not_paid"
    assert state(shop, part_paid)["status"] == "pending" and state(shop, paid)["status"] == "pending"
    with runtime.db.read() as session:
        released = session.scalars(
            select(StockMovement.reserved_delta).where(
                StockMovement.order_id == unpaid["id"], StockMovement.kind == "release"
            )
        ).all()
    assert released == [-2]
    steps = shop.api.get(f"/api/v1/orders/{unpaid['id']}/timeline").json()
    assert steps[-1]["actor_type"] == "automation"
    assert steps[-1]["data"]["automation"] == "Unpaid order cancelled in time"
    page = sign_in(shop.api.app, shop).get(f"/orders/{unpaid['id']}").text
    assert "自动化：超时未付款自动取消" in page


def test_shipped_orders_complete_after_the_shops_days_unless_after_sales_is_open(
    runtime, app, shop, worker, frozen
):
    frozen(T0)
    quiet = buy(runtime, app, shop, phone="13900002221")
    disputed = buy(runtime, app, shop, phone="13900002222")
    disputed.asked(
        kind="refund_only",
        reason="unwanted",
        lines=[{"order_item_id": disputed.lines[0]["id"], "quantity": 1}],
    )
    set_workflow(shop, auto_complete_days=7)

    frozen(T0 + timedelta(days=7, minutes=5))
    worker.run_once()

    done = quiet.order_now()
    assert done["status"] == "completed"
    assert disputed.order_now()["status"] == "shipped"
    steps = shop.api.get(f"/api/v1/orders/{done['id']}/timeline").json()
    assert {s["data"].get("automation") for s in steps if s["actor_type"] == "automation"} == {
        "Receipt confirmed in time"
    }


def test_finished_orders_are_archived_after_the_shops_days(shop, product, worker, frozen):
    frozen(T0)
    finished = act(shop, make_order(shop, [(product.variant_id, 1)]), "cancel", reason="changed_mind")
    open_order = make_order(shop, [(product.variant_id, 1)])
    set_workflow(shop, auto_archive_days=30)

    frozen(T0 + timedelta(days=29))
    worker.run_once()
    assert state(shop, finished)["archived"] is False

    frozen(T0 + timedelta(days=30, minutes=5))
    worker.run_once()
    assert state(shop, finished)["archived"] is True and state(shop, open_order)["archived"] is False


def test_a_shop_without_periods_is_left_alone(shop, product, worker, frozen):
    frozen(T0)
    order = make_order(shop, [(product.variant_id, 1)])
    frozen(T0 + timedelta(days=400))
    worker.run_once()
    assert state(shop, order)["status"] == "pending"


def test_a_clock_that_jumps_runs_each_task_once_per_period(runtime, shop, product, worker, frozen):
    frozen(T0)
    order = make_order(shop, [(product.variant_id, 1)])
    set_workflow(shop, expire_unpaid_hours=1)
    before = len(runs_of(runtime, "orders.sweep"))

    # ten days later: one run, not one per missed period; a second pass finds the period taken
    frozen(T0 + timedelta(days=10))
    worker.run_once()
    Worker(runtime).run_once()  # another worker (another process) in the same period
    after_jump = runs_of(runtime, "orders.sweep")
    assert len(after_jump) == before + 1 and after_jump[-1].status == "done"
    assert state(shop, order)["status"] == "cancelled"
    timeline = len(shop.api.get(f"/api/v1/orders/{order['id']}/timeline").json())

    # and back again: nothing runs twice, nothing changes twice
    frozen(T0 + timedelta(days=1))
    worker.run_once()
    frozen(T0 + timedelta(days=10))
    worker.run_once()
    assert len(shop.api.get(f"/api/v1/orders/{order['id']}/timeline").json()) == timeline


def test_chat_checkpoints_are_signed_once_an_hour(runtime, monkeypatch, frozen):
    monkeypatch.setattr(periodic, "TASKS", {"chat.checkpoint": periodic.TASKS["chat.checkpoint"]})
    worker = Worker(runtime)
    frozen(T0 + timedelta(minutes=7))
    worker.run_once()
    worker.run_once()
    frozen(T0 + timedelta(minutes=59))
    worker.run_once()
    keys = [j.idempotency_key for j in runs_of(runtime, "chat.checkpoint")]
    hour = int((T0 + timedelta(minutes=7)).timestamp() // 3600)
    assert keys.count(f"chat.checkpoint:{hour}") == 1

    frozen(T0 + timedelta(hours=1, minutes=1))
    worker.run_once()
    assert f"chat.checkpoint:{hour + 1}" in [j.idempotency_key for j in runs_of(runtime, "chat.checkpoint")]


def test_a_failing_task_is_recorded_and_runs_again_next_period(runtime, monkeypatch, frozen):
    calls = []

    def flaky(_rt):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("provider down")

    monkeypatch.setattr(
        periodic, "TASKS", {"test.flaky": Periodic("test.flaky", timedelta(minutes=5), flaky)}
    )
    schedule = Schedule(runtime)
    frozen(T0 + timedelta(days=3))
    assert schedule.run_due() == ["test.flaky"]
    assert schedule.run_due() == []  # the same period: taken
    frozen(T0 + timedelta(days=3, minutes=5))
    assert schedule.run_due() == ["test.flaky"]

    runs = runs_of(runtime, "test.flaky")
    assert [(r.status, r.last_error) for r in runs[-2:]] == [
        ("failed", "RuntimeError: provider down"),
        ("done", None),
    ]


def test_workers_racing_for_a_period_run_it_once(runtime, monkeypatch, frozen):
    ran = []
    started = threading.Barrier(4)

    def task(_rt):
        ran.append(threading.get_ident())

    monkeypatch.setattr(periodic, "TASKS", {"test.race": Periodic("test.race", timedelta(minutes=5), task)})
    frozen(T0 + timedelta(days=5))

    def one_worker():
        started.wait()
        Schedule(runtime).run_due()

    threads = [threading.Thread(target=one_worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert len(ran) == 1
    with runtime.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Job).where(Job.kind == "test.race")) == 1
