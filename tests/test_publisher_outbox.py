"""The publisher's outbox announces every loss: a row dropped while a resync send is on the wire
is announced by a later send, not forgotten when that send's resync is acknowledged."""

from __future__ import annotations

import threading

from shangliao.events.publisher import Outbox

# Only a bound for a test that would otherwise hang; nothing here is timed.
LIVENESS_BOUND = 10.0


def test_a_row_dropped_during_a_resync_send_is_announced_by_a_later_send():
    sent: list[tuple[list, bool]] = []
    first_send_started = threading.Event()
    first_send_may_return = threading.Event()
    dropped_during_resync = threading.Event()
    delivered = threading.Condition()
    outbox: Outbox

    def send(rows, resync):
        """Stands in for Redis: records what it was given; at the end of the first resync send
        (Redis already has it, the outbox has not yet heard back) the queue overflows once more."""
        if not sent:
            first_send_started.set()
            first_send_may_return.wait(LIVENESS_BOUND)
        with delivered:
            sent.append(([r["n"] for r in rows], resync))
            delivered.notify_all()
        if resync and not dropped_during_resync.is_set():
            outbox.put([{"n": 4}, {"n": 5}])  # over capacity: dropped
            dropped_during_resync.set()

    outbox = Outbox(send, capacity=1, name="test-outbox")
    try:
        # given a first row on the wire, one queued behind it, and one dropped on the full queue
        outbox.put([{"n": 1}])
        assert first_send_started.wait(LIVENESS_BOUND)
        outbox.put([{"n": 2}])
        outbox.put([{"n": 3}])
        first_send_may_return.set()
        # when the resync send that announces that loss is itself overtaken by another drop
        assert dropped_during_resync.wait(LIVENESS_BOUND)
        # and one more row is published afterwards
        outbox.put([{"n": 6}])
        with delivered:
            assert delivered.wait_for(lambda: any(6 in rows for rows, _ in sent), LIVENESS_BOUND)
    finally:
        outbox.close()

    # then a send after the overtaken one announces a resync: rows 4 and 5 are not silently lost
    overtaken = next(i for i, (_, resync) in enumerate(sent) if resync)
    assert any(resync for _, resync in sent[overtaken + 1 :]), sent
    assert outbox.dropped == 3
