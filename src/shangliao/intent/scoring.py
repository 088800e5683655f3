"""Scoring the recogniser against a labelled set: the same figures for bench/intent.py and the
accuracy gate in tests/test_intent_accuracy.py, so the two can never count differently.

A labelled set is a catalog (a JSON list of variants, as ``variant_from_dict`` reads them) and a
JSON-lines file of messages: ``{"text", "is_order", "lines": [{"product_id", "variant_id",
"quantity"}], "note"}``.

- intent precision: of the messages predicted as orders, the share that are;
- intent recall: of the order messages, the share predicted as orders;
- item accuracy: labelled lines of order messages matched exactly (product, variant and quantity),
  in order; a missed order counts all its lines as missed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shangliao.intent.catalog import Catalog, CatalogVariant, variant_from_dict
from shangliao.intent.recognise import Intent, recognise


@dataclass
class Tally:
    predicted: int = 0
    predicted_right: int = 0
    orders: int = 0
    orders_found: int = 0
    items: int = 0
    items_right: int = 0

    def add(self, row: dict, intent: Intent) -> list[str]:
        """Counts one row; returns what it got wrong."""
        misses = []
        self.predicted += intent.is_order
        self.predicted_right += intent.is_order and row["is_order"]
        if intent.is_order != row["is_order"]:
            misses.append(f"is_order {intent.is_order}")
        if not row["is_order"]:
            return misses
        self.orders += 1
        self.orders_found += intent.is_order
        for index, label in enumerate(row["lines"]):
            self.items += 1
            got = intent.lines[index] if intent.is_order and index < len(intent.lines) else None
            seen = (got.product_id, got.variant_id, got.quantity) if got else None
            wanted = (label["product_id"], label["variant_id"], label["quantity"])
            if seen == wanted:
                self.items_right += 1
            else:
                misses.append(f"line {index + 1}: {seen} != {wanted}")
        if intent.is_order and len(intent.lines) > len(row["lines"]):
            misses.append(f"{len(intent.lines) - len(row['lines'])} extra line(s)")
        return misses

    @property
    def precision(self) -> float:
        return _share(self.predicted_right, self.predicted)

    @property
    def recall(self) -> float:
        return _share(self.orders_found, self.orders)

    @property
    def item_accuracy(self) -> float:
        return _share(self.items_right, self.items)

    def figures(self, prefix: str = "") -> list[str]:
        return [
            f"{prefix}intent_precision={self.precision:.3f}",
            f"{prefix}intent_recall={self.recall:.3f}",
            f"{prefix}item_accuracy={self.item_accuracy:.3f}",
        ]


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def load_variants(path: Path) -> list[CatalogVariant]:
    return [variant_from_dict(row) for row in json.loads(path.read_text(encoding="utf-8"))]


def load_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def score(
    rows: list[dict], catalog: Catalog, on_miss: Callable[[int, dict, list[str]], None] | None = None
) -> Tally:
    """The figures of ``rows`` read against ``catalog``; ``on_miss(number, row, misses)`` sees each miss."""
    tally = Tally()
    for number, row in enumerate(rows, 1):
        misses = tally.add(row, recognise(row["text"], catalog))
        if misses and on_miss is not None:
            on_miss(number, row, misses)
    return tally
