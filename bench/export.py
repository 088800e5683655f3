"""Orders to .xlsx at a million orders: time against a bare script, memory against a tenth.

    .venv/bin/python bench/export.py [--data DIR] [--large 1000000] [--small 100000]

1. Two data folders, each with one shop made by ``shangliao seed`` (``large`` and ``small``
   orders; with ``--data DIR`` made there once and reused).
2. ``export_s`` and ``peak_mb``: ``shangliao orders export <shop> --out orders.xlsx`` in a child
   process on core 0 (what the worker's export thread runs: every order, decrypted, translated,
   both sheets), its wall time and its peak resident memory (``wait4``'s ``ru_maxrss``).
3. ``bare_s``: ``export_bare.py`` in a child process on core 0 on the same large folder: the same
   orders in the same order read with the bare ``sqlite3`` driver and every column of theirs and
   of their lines written into xlsxwriter ``constant_memory`` (two sheets, no decryption, no
   translation, no masking): what streaming those rows costs before any work of ours.
4. The last line prints ``time_ratio=export_s/bare_s`` at the large size (target <= 1.3) and
   ``memory_growth=`` peak at the large size / at the small size (target <= 1.1).

docs/benchmarks.md records results. Never run in CI.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import SERVER_CORE, BenchFailure, server_env, warn_if_busy
from order_list import SHANGLIAO, build

HERE = Path(__file__).resolve().parent


def bulk_slug(folder: Path) -> str:
    """The seeded shop's slug (read from the database: the CLI's table wraps long slugs)."""
    with sqlite3.connect(f"file:{folder / 'shangliao.db'}?mode=ro", uri=True) as conn:
        found = conn.execute(
            "SELECT slug FROM shops WHERE slug LIKE 'bulk-%' ORDER BY id DESC LIMIT 1"
        ).fetchone()
    if found is None:
        raise BenchFailure(f"no seeded shop in {folder}")
    return found[0]


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run ``cmd`` pinned to the server core; its wall seconds and peak resident MB."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        ["taskset", "-c", SERVER_CORE, *cmd], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise BenchFailure(f"{' '.join(cmd)} failed:\n{output[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def export(folder: Path, out: Path) -> tuple[float, float]:
    cmd = [
        str(SHANGLIAO),
        "--data-dir",
        str(folder),
        "orders",
        "export",
        bulk_slug(folder),
        "--out",
        str(out),
    ]
    return timed(cmd, server_env({"LANG": "C.UTF-8"}))


def bare(folder: Path, out: Path) -> tuple[float, float]:
    cmd = [
        sys.executable,
        str(HERE / "export_bare.py"),
        str(folder / "shangliao.db"),
        bulk_slug(folder),
        str(out),
    ]
    return timed(cmd, server_env({}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="keep the seeded folders here and reuse them")
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    args = parser.parse_args()
    warn_if_busy()
    root = args.data or Path(tempfile.mkdtemp(prefix="bench-export-"))
    out = Path(tempfile.mkdtemp(prefix="bench-export-out-"))
    try:
        sizes = {"large": args.large, "small": args.small}
        for name, orders in sizes.items():
            folder = root / f"{name}-{orders}"
            if not (folder / "shangliao.db").exists():
                seconds = build(folder, orders)
                print(f"seeded {orders} orders in {seconds:.0f} s")
        large, small = (root / f"{n}-{o}" for n, o in sizes.items())
        small_s, small_mb = export(small, out / "small.xlsx")
        print(f"small: orders={args.small} export_s={small_s:.1f} peak_mb={small_mb:.0f}")
        bare_s, bare_mb = bare(large, out / "bare.xlsx")
        export_s, large_mb = export(large, out / "large.xlsx")
        print(
            f"large: orders={args.large} export_s={export_s:.1f} peak_mb={large_mb:.0f} bare_s={bare_s:.1f} bare_peak_mb={bare_mb:.0f}"
        )
        print(f"time_ratio={export_s / bare_s:.2f} memory_growth={large_mb / small_mb:.2f}")
        return 0
    except BenchFailure as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(out, ignore_errors=True)
        if args.data is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
