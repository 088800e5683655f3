"""Stock invariants under any sequence of movements, on the real database (rule 10 of docs/architecture.md).

A hypothesis state machine drives ``inventory.stock.apply`` with every kind of movement, each in its
own unit of work, against a plain-Python model. After every step: available = on_hand − reserved,
nothing negative, the ledger sums to on_hand, reserved and backorder, and the database agrees with
the model — so a refused movement provably changed nothing.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from shangliao.catalog.models import Variant
from shangliao.core.errors import ShangliaoError
from shangliao.inventory import stock
from shangliao.inventory.models import StockMovement
from tests.support.catalog import make_product

START = 3
REFUSALS = {"stock.insufficient", "stock.not_reserved", "stock.backorder_mismatch"}

which = st.integers(0, 1)
qty = st.integers(1, 4)


def read_stock(
    rt, variant_ids: list[int]
) -> dict[int, tuple[tuple[int, int, int], tuple[int, int, int], int]]:
    """Per variant: its (on_hand, reserved, backorder), the ledger's sums of the same, ledger rows."""
    m = StockMovement.__table__
    with rt.db.read() as s:
        held = {
            r.id: (r.on_hand, r.reserved, r.backorder)
            for r in s.execute(
                select(Variant.id, Variant.on_hand, Variant.reserved, Variant.backorder).where(
                    Variant.id.in_(variant_ids)
                )
            )
        }
        sums = {
            r[0]: (tuple(r[1:4]), r[4])
            for r in s.execute(
                select(
                    m.c.variant_id,
                    func.sum(m.c.on_hand_delta),
                    func.sum(m.c.reserved_delta),
                    func.sum(m.c.backorder_delta),
                    func.count(),
                )
                .where(m.c.variant_id.in_(variant_ids))
                .group_by(m.c.variant_id)
            )
        }
    return {v: (held[v], *sums.get(v, ((0, 0, 0), 0))) for v in variant_ids}


def test_stock_invariants_hold_for_any_sequence_of_moves(runtime, shop):
    rt = runtime

    class StockMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            ids = make_product(rt, shop, options=["尺码"], stock=START, presale=True)
            self.variants = ids.variant_ids
            # The model: [on_hand, reserved, backorder] and ledger rows per variant.
            self.model = {v: [START, 0, 0] for v in self.variants}
            self.rows = dict.fromkeys(self.variants, 1)  # the initial-stock adjustment

        def _allowed(self, moves: list[stock.Move]) -> bool:
            after = {v: list(vals) for v, vals in self.model.items()}
            for m in moves:
                after[m.variant_id][0] += m.on_hand
                after[m.variant_id][1] += m.reserved
                after[m.variant_id][2] += m.backorder
            return all(
                on_hand >= reserved >= 0 and backorder >= 0 for on_hand, reserved, backorder in after.values()
            )

        def _apply(self, *moves: stock.Move) -> None:
            allowed = self._allowed(list(moves))
            try:
                with rt.db.write() as session:
                    stock.apply(session, shop.id, list(moves), reason="hypothesis")
            except ShangliaoError as exc:
                assert not allowed, f"refused a move the model allows: {exc}"
                assert exc.code in REFUSALS
                return
            assert allowed, f"applied a move the model refuses: {moves}"
            for m in moves:
                self.model[m.variant_id][0] += m.on_hand
                self.model[m.variant_id][1] += m.reserved
                self.model[m.variant_id][2] += m.backorder
                self.rows[m.variant_id] += 1

        @rule(i=which, q=qty)
        def reserve(self, i: int, q: int) -> None:
            self._apply(stock.Move(self.variants[i], "reserve", reserved=q))

        @rule(i=which, q=qty)
        def release(self, i: int, q: int) -> None:
            self._apply(stock.Move(self.variants[i], "release", reserved=-q))

        @rule(i=which, q=qty)
        def ship(self, i: int, q: int) -> None:
            self._apply(stock.Move(self.variants[i], "deduct", on_hand=-q, reserved=-q))

        @rule(i=which, q=qty)
        def adjust_up(self, i: int, q: int) -> None:
            self._apply(stock.Move(self.variants[i], "adjust", on_hand=q))

        @rule(i=which, q=qty)
        def adjust_down(self, i: int, q: int) -> None:
            self._apply(stock.Move(self.variants[i], "adjust", on_hand=-q))

        @rule(i=which, q=qty)
        def presale_backorder(self, i: int, q: int) -> None:
            self._apply(stock.Move(self.variants[i], "backorder", backorder=q))

        @rule(i=which, q=qty)
        def backorder_release(self, i: int, q: int) -> None:
            self._apply(stock.Move(self.variants[i], "backorder_release", backorder=-q))

        @rule(a=qty, b=qty)
        def reserve_both(self, a: int, b: int) -> None:
            """An order with two lines: both reservations apply, or neither does."""
            self._apply(
                stock.Move(self.variants[0], "reserve", reserved=a),
                stock.Move(self.variants[1], "reserve", reserved=b),
            )

        @invariant()
        def database_matches_model_and_ledger(self) -> None:
            for v, (held, summed, rows) in read_stock(rt, self.variants).items():
                on_hand, reserved, backorder = held
                assert on_hand - reserved >= 0 and reserved >= 0 and backorder >= 0
                assert summed == held, f"ledger {summed} != stock {held}"
                assert list(held) == self.model[v]
                assert rows == self.rows[v]

    run_state_machine_as_test(
        StockMachine,
        settings=settings(max_examples=15, stateful_step_count=25, deadline=None, database=None),
    )
