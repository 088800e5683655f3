"""Smart paste: field accuracy over the labelled set, and parse time against a trivial baseline.

    .venv/bin/python bench/address.py [--verbose]

Prints ``<field>_accuracy=`` per field, the time per address of ``parse_address`` and of a baseline
measured in the same run (one regex pass that pulls out a mobile number and splits on separators,
roughly the least any paste helper does), ``time_ratio=`` (parse / baseline), and last
``field_accuracy=`` (mean over fields and rows; the target is ≥ 0.95). ``--verbose`` lists the rows
with a wrong field. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

from shangliao.addresses import divisions
from shangliao.addresses.smart_paste import FIELDS, parse_address

LABELLED = Path(__file__).resolve().parent.parent / "tests" / "data" / "addresses.jsonl"
ROUNDS = 20

_BASELINE_PHONE = re.compile(r"1[3-9]\d{9}")
_BASELINE_SPLIT = re.compile(r"[\s,，;；|/、。:：]+")


def baseline(text: str) -> tuple[str, list[str]]:
    """What the parser is compared with: find a mobile, split the rest into words."""
    found = _BASELINE_PHONE.search(text)
    return (found.group() if found else ""), _BASELINE_SPLIT.split(text)


def per_call_us(fn, texts: list[str]) -> float:
    best = float("inf")
    for _ in range(ROUNDS):  # best of several rounds: the least disturbed by other work on the machine
        start = time.perf_counter()
        for text in texts:
            fn(text)
        best = min(best, time.perf_counter() - start)
    return best / len(texts) * 1e6


def main(argv: list[str]) -> int:
    verbose = "--verbose" in argv
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [row["text"] for row in rows]

    start = time.perf_counter()
    divisions.table()
    load_ms = (time.perf_counter() - start) * 1e3

    correct = dict.fromkeys(FIELDS, 0)
    for number, row in enumerate(rows, 1):
        parsed = parse_address(row["text"])
        wrong = [f for f in FIELDS if getattr(parsed, f) != row[f]]
        for field in FIELDS:
            correct[field] += field not in wrong
        if wrong and verbose:
            print(f"# row {number}: " + ", ".join(f"{f} {getattr(parsed, f)!r} != {row[f]!r}" for f in wrong))

    parse_us = per_call_us(parse_address, texts)
    baseline_us = per_call_us(baseline, texts)

    print(f"rows={len(rows)}")
    for field in FIELDS:
        print(f"{field}_accuracy={correct[field] / len(rows):.3f}")
    print(f"table_load_ms={load_ms:.1f}")
    print(f"parse_us={parse_us:.1f}")
    print(f"baseline_us={baseline_us:.2f}")
    print(f"time_ratio={parse_us / baseline_us:.1f}")
    print(f"field_accuracy={sum(correct.values()) / (len(rows) * len(FIELDS)):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
