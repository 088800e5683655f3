"""Where an order-create request spends the server's CPU: py-spy on the live server under wrk load.

    .venv/bin/pip install py-spy   # once; not a project dependency
    .venv/bin/python bench/profile_order_create.py [--seconds 10] [--top 40]

Seeds a data folder like ``order_create.py``, serves Shangliao (``synchronous=FULL``) on core 0,
warms it up, then samples only the thread holding the GIL (``py-spy --gil``) while wrk posts orders
from core 1. It prints, per function, the CPU milliseconds per request spent in it and below it
(inclusive), the top ones first. Time waiting for fsync or for the writer connection is not CPU
and does not show; ``order_create.py`` measures throughput, this explains it.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import BenchFailure, require_tools, serve, server_env, wrk_post
from order_create import ORDERS_URL, seed

RATE = 250  # samples per second
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>.*?)(?::\d+)?\)$")


def short(frame: str) -> str:
    m = _FRAME.match(frame)
    if m is None:
        return frame
    path = m["file"].split("site-packages/")[-1].split("/src/")[-1]
    return f"{m['func']} ({path})"


def summarize(raw: Path, requests: int, top: int) -> None:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    roots: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = [short(f) for f in stack.split(";") if f] or ["(no Python frame)"]
        total += n
        own[frames[-1]] += n
        roots[frames[0]] += n
        for name in set(frames):
            inclusive[name] += n
    per_request = 1000 / RATE / requests  # ms of CPU per sample per request
    print(
        f"# {total} samples holding the GIL, {requests} requests: {total * per_request:.2f} ms CPU per request"
    )
    print("# by thread entry point, ms/request")
    for name, n in roots.most_common(5):
        print(f"{n * per_request:8.3f}  {name}")
    print("# inclusive ms/request  function")
    for name, n in inclusive.most_common(top):
        print(f"{n * per_request:8.3f}  {name}")
    print("# self ms/request  function")
    for name, n in own.most_common(15):
        print(f"{n * per_request:8.3f}  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    require_tools()
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        raise BenchFailure("py-spy is not installed: .venv/bin/pip install py-spy")
    workdir = Path(tempfile.mkdtemp(prefix="shangliao-profile-"))
    try:
        seeded, _ = seed(workdir / "data")
        env = server_env(
            {"SHANGLIAO_DATA_DIR": str(workdir / "data"), "SHANGLIAO_SQLITE_SYNCHRONOUS": "FULL"}
        )
        with serve("shangliao.app:serving_app", env=env, log_path=workdir / "server.log") as server:
            url = server.url + ORDERS_URL
            wrk_post(
                url, seeded.body, token=seeded.token, seconds=3, connections=args.connections, label="warm-up"
            )
            out = workdir / "stacks.txt"
            spy = subprocess.Popen(
                [py_spy, "record", "--pid", str(server.pid), "--gil", "--nonblocking", "--rate", str(RATE),
                 "--duration", str(args.seconds), "--format", "raw", "--output", str(out)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                result = wrk_post(
                    url, seeded.body, token=seeded.token, seconds=args.seconds, connections=args.connections,
                    label="profiled run",
                )  # fmt: skip
            finally:
                spy.wait(timeout=args.seconds + 60)
        print(f"orders_rps={result.rps:.1f}")
        summarize(out, result.requests, args.top)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
