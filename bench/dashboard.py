"""工作台's overview at a million orders: against its own SQL served bare, and against a tenth.

    .venv/bin/python bench/dashboard.py [--data DIR] [--large 1000000] [--small 100000]

1. Two data folders, each with one shop made by ``shangliao seed`` (``large`` and ``small``
   orders over 90 days, their figures made by the seed's rebuild; with ``--data DIR`` made there
   once and reused). A seed made in this run prints its time.
2. The request: ``GET /api/v1/stats/overview`` (today, this month, the last 30 days, each against
   the days before, what waits, the 30-day trend) as the shop's owner, its statements recorded
   in-process (the second of two requests: the caller cache warm, as in the measured runs).
3. ``page_ms``: the real server (``uvicorn shangliao.app:serving_app``, core 0, one per data
   folder, both up throughout) answering ``wrk`` with one connection (core 1), requests one after
   another, ``--seconds`` a run: the median latency. Any non-2xx answer fails the bench.
4. ``floor_ms``: the large request's statements served by a bare FastAPI app
   (``list_floor_app.py``: the bare sqlite3 driver in one worker-thread trip, the rows as JSON,
   nothing else) on the same core, the same way.

Every figure is measured once per round, ``--rounds`` rounds one after another; each figure
printed is the median of its rounds, each ratio the median of the rounds' ratios. The last line
prints ``floor_ratio=`` (page_ms / floor_ms at the large size, target <= 1.5) and
``growth_ratio=`` (page_ms at the large size / at the small size, target <= 2).
docs/benchmarks.md records results. Never run in CI.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

from harness import BenchFailure, folder_options, require_tools, warn_if_busy
from order_list import Request, build, record, report, servers, wrk_get_p50

URL = "/api/v1/stats/overview"


def prepare(folder: Path) -> Request:
    """The overview request on the folder's seeded shop, recorded; its figures must not be empty
    (a seed without paid orders would measure nothing of what the page reads)."""
    request, body = record(folder, URL)
    span = body["periods"]["range"]["figures"]
    if not (span["orders"] and span["paid_orders"] and span["gmv"]) or not body["complete"]:
        raise BenchFailure(f"{folder.name}: the overview's last 30 days are empty: {span}")
    return request


def measure(data: Path, requests: dict[str, Request], args) -> dict[str, list[float]]:
    """Each figure once per round, the rounds one after another (A B C A B C …): a machine whose
    speed drifts during the run moves every figure of a round alike, so each round's ratios hold."""
    targets = {"small": URL, "large": URL, "floor": "/floor"}
    tokens = {"small": requests["small"].token, "large": requests["large"].token, "floor": ""}
    figures: dict[str, list[float]] = {}
    with servers(data, requests) as urls:
        for name, path in targets.items():
            wrk_get_p50(urls[name] + path, tokens[name] or tokens["large"], seconds=args.warmup,
                        label=f"{name} warm-up")  # fmt: skip
        for _ in range(args.rounds):
            for name, path in targets.items():
                ms, count = wrk_get_p50(
                    urls[name] + path, tokens[name] or tokens["large"], seconds=args.seconds, label=name
                )
                if count < args.min_requests:
                    raise BenchFailure(f"{name}: only {count} requests in {args.seconds} s")
                figures.setdefault("floor_ms_large" if name == "floor" else f"page_ms_{name}", []).append(ms)
    return figures


def run(args: argparse.Namespace) -> None:
    require_tools()
    warn_if_busy()
    temporary = args.data is None
    root = (
        Path(tempfile.mkdtemp(prefix="shangliao-dashboard-", dir=args.dir)) if temporary else Path(args.data)
    )
    data = root / f"dashboard-{args.small}-{args.large}"
    print(f"# {date.today().isoformat()} data in {data}; GET {URL}; servers on core 0, wrk on core 1")
    try:
        sizes = {"small": args.small, "large": args.large}
        for name, orders in sizes.items():
            folder = data / name
            if not (folder / "shangliao.db").exists():
                seconds = build(folder, orders)
                print(f"seed_{name}_seconds={seconds:.1f}")
        requests = {name: prepare(data / name) for name in sizes}
        for name, request in requests.items():
            print(
                f"# {name}: shop {request.slug}, {request.orders} orders, {len(request.statements)} statements"
            )
            if args.verbose:
                for i, (sql, _) in enumerate(request.statements, 1):
                    print(f"#  {i:2d}. {' '.join(sql.split())[:160]}")
        figures = measure(data, requests, args)
        report(
            figures,
            {
                "floor_ratio": ("page_ms_large", "floor_ms_large"),
                "growth_ratio": ("page_ms_large", "page_ms_small"),
            },
            args,
        )
    finally:
        if temporary and not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        elif temporary:
            print(f"# kept {root}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="folder holding (or to hold) the seeded data folders, reused")
    parser.add_argument("--large", type=int, default=1_000_000, help="orders in the large shop")
    parser.add_argument("--small", type=int, default=100_000, help="orders in the small shop")
    parser.add_argument("--seconds", type=int, default=3, help="length of each measured wrk run (default 3)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of every measurement (default 5)")
    parser.add_argument("--warmup", type=int, default=3, help="length of each warm-up run (default 3)")
    parser.add_argument(
        "--min-requests", type=int, default=50, help="fewer answers than this in a run fail the bench"
    )
    folder_options(
        parser,
        dir_help="where a temporary data folder goes (without --data)",
        keep_help="keep the temporary data folder",
        verbose_help="print the statements of the request",
    )
    run(parser.parse_args())


if __name__ == "__main__":
    main()
