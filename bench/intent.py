"""Order intent in chat messages: accuracy over the labelled set, and time per message.

    .venv/bin/python bench/intent.py [--data tests/data/intent_messages.jsonl] [--verbose]

Builds the Catalog once from ``tests/data/intent_catalog.json``, runs ``recognise`` on every labelled
message and prints, one ``name=value`` per line:

- ``rows=``, ``orders=``: the size of the set;
- ``holdout_*``: the same figures over the rows marked ``"note": "holdout"`` only (written before
  any code); ``holdout2_*`` over ``"note": "holdout-2"``, written after the first version of the
  recogniser and before any tuning on them: the closest to messages it has never seen;
- ``baseline_*``: a keyword baseline measured in the same run (an order when the message holds an
  ordering verb and a catalog product name), the least a recogniser must beat;
- ``catalog_build_us=``: building the Catalog's indexes, ``time_ratio=`` recognise / baseline;
- last ``intent_precision=`` (of messages predicted as orders, the share that are; target ≥ 0.9),
  ``intent_recall=`` (of order messages, the share predicted; target ≥ 0.85), ``item_accuracy=``
  (labelled lines of order messages matched exactly — product, variant and quantity — in order;
  target ≥ 0.85) and ``us_per_message=`` (mean time of ``recognise``; best of several rounds).

``--verbose`` prints every miss first. Not a test: nothing here asserts a figure or a time.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from shangliao.intent.catalog import variant_from_dict
from shangliao.intent.recognise import Catalog, CatalogVariant, Intent, recognise

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
ROUNDS = 20
_BASELINE_VERB = re.compile(r"要|来|拿|订|买|下单")


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

    def figures(self, prefix: str = "") -> list[str]:
        return [
            f"{prefix}intent_precision={_share(self.predicted_right, self.predicted):.3f}",
            f"{prefix}intent_recall={_share(self.orders_found, self.orders):.3f}",
            f"{prefix}item_accuracy={_share(self.items_right, self.items):.3f}",
        ]


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def load_catalog(path: Path) -> list[CatalogVariant]:
    return [variant_from_dict(row) for row in json.loads(path.read_text(encoding="utf-8"))]


def baseline(message: str, names: list[str]) -> bool:
    """What the recogniser is compared with: an ordering verb and a product name anywhere."""
    return bool(_BASELINE_VERB.search(message)) and any(name in message for name in names)


def per_call_us(fn, items: list) -> float:
    best = float("inf")
    for _ in range(ROUNDS):  # best of several rounds: the least disturbed by other work on the machine
        start = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, time.perf_counter() - start)
    return best / len(items) * 1e6


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA / "intent_messages.jsonl")
    parser.add_argument("--catalog", type=Path, default=DATA / "intent_catalog.json")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)

    variants = load_catalog(args.catalog)
    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [row["text"] for row in rows]
    build_us = per_call_us(Catalog, [variants])
    catalog = Catalog(variants)
    names = sorted({a for v in variants for a in (v.product_name, *v.aliases)})

    everything, keyword = Tally(), Tally()
    held_out = {"holdout": Tally(), "holdout-2": Tally()}
    for number, row in enumerate(rows, 1):
        intent = recognise(row["text"], catalog)
        misses = everything.add(row, intent)
        if row.get("note") in held_out:
            held_out[row["note"]].add(row, intent)
        guess = baseline(row["text"], names)
        keyword.add({**row, "lines": []}, Intent(guess, [], 1.0 if guess else 0.0))
        if misses and args.verbose:
            print(f"# row {number} {row['text']!r} ({row.get('note', '')}): " + "; ".join(misses))

    recognise_us = per_call_us(lambda text: recognise(text, catalog), texts)
    baseline_us = per_call_us(lambda text: baseline(text, names), texts)

    print(f"rows={len(rows)}")
    print(f"orders={everything.orders}")
    for note, tally in held_out.items():
        prefix = note.replace("-", "") + "_"
        print(f"{prefix}rows={sum(row.get('note') == note for row in rows)}")
        print("\n".join(tally.figures(prefix)))
    print("\n".join(keyword.figures("baseline_")[:2]))
    print(f"catalog_variants={len(variants)}")
    print(f"catalog_build_us={build_us:.0f}")
    print(f"baseline_us={baseline_us:.2f}")
    print(f"time_ratio={recognise_us / baseline_us:.1f}")
    print("\n".join(everything.figures()))
    print(f"us_per_message={recognise_us:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
