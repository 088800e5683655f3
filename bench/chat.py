"""Chat over WebSockets: customers' messages reaching the staff, against their floor, in one run (issue 4).

    .venv/bin/python bench/chat.py            # about 5 minutes
    .venv/bin/python bench/chat.py --quick    # 1.5 minutes: 2 short rounds (opening the sockets takes 35 s)

What it does:

1. Seeds a fresh SQLite data folder (``chat_seed.py``): one shop, its owner's API token, and
   ``--customers`` (1,000) customers, each with a visitor token and a conversation, made through
   the services. A copy of the database is kept for the raw transaction.
2. Serves Shangliao (``uvicorn shangliao.app:create_app``, ``synchronous=FULL``) and the bare relay
   (``chat_floor_app.py``: Starlette, no database) side by side, both pinned to core 0; both stay
   up for the whole run. This process is the load: an asyncio client (uvloop, the ``websockets``
   package) pinned to core 1. It holds 1,000 customer sockets (``/s/{shop}/ws``, the visitor
   cookie, a same-origin ``Origin``) and ``--staff`` (2) staff sockets (``/api/v1/ws``,
   ``Authorization: Bearer``) on *each* server, opened ``--connect-rate`` (100) a second so that
   uvicorn's 20 s protocol pings come spread out, as with a real crowd. Customers send ``{"type": "send", "body",
   "client_id"}``, round-robin over the sockets; a message counts as delivered when the first
   staff socket receives its ``message.created`` (every staff socket must receive every message
   before a phase ends, or the bench fails). Per-message compression is off in the client, so
   both servers move plain frames.
3. Rounds, one after another, each measuring every figure once (this VM's speed drifts; within
   a round it moves every figure alike, so each ratio is computed per round and the median of
   the rounds' ratios printed):
   - ``bare_mps`` / ``ours_mps``: throughput, closed loop. ``--window`` messages in flight at
     most (a new one is sent when one is delivered); delivered messages per second over
     ``--seconds`` after a warm-up, bounded by ``--max-messages``. Ours counts only messages
     that are committed (an ``ack`` comes after COMMIT) and delivered from the durable log.
   - ``raw_mps``: the same message insert and event-log append through the bare ``sqlite3``
     driver, one transaction per message, on the server's core, for ``--raw-seconds``
     (``chat_seed.messages_per_second``). ``floor_mps = 1 / (1/bare_mps + 1/raw_mps)``.
   - ``bare_p99_ms`` / ``ours_p99_ms``: send→deliver latency (p50 and p99) at a fixed offered
     rate, open loop: message k is due at ``start + k/--rate`` and its latency is counted from
     when it was due, not when the client got round to sending it (no coordinated omission).
     The rate is the same for both apps and must sit well below both throughputs: at
     saturation a latency measures the length of the queue the client built, not the server,
     and the ratio of two queue lengths means nothing. The default, 200 msg/s (each socket
     sending every 5 s, 1,000 sockets connected), is a fifth of what Shangliao sustains on this
     VM and a thirtieth of the bare relay; a round where it exceeds half of either throughput
     says so. ``ours_ack_p99_ms`` (send→ack: committed) and ``raw_p99_ms`` (one raw transaction,
     fsync included) tell how much of our latency is the disk.
4. ``throughput_ratio = ours_mps / floor_mps`` (target >= 0.5) and
   ``p99_ratio = ours_p99_ms / bare_p99_ms`` (target <= 3).

The client raises its open-file limit to the hard limit before anything starts, and the servers it
starts inherit it (checked in ``/proc``). A Python client could be the bottleneck of the bare
relay: the bench reports the client core's use in each throughput phase and warns above 90 %.
Group commit: Shangliao commits many messages in one transaction under load, the raw floor one
per message (as the issue defines it), so ``throughput_ratio`` can pass 1; ``raw_batched_mps``
(``--verbose``) shows what 32 messages per transaction cost through the bare driver, the fairer
yardstick for our CPU. ``--profile FILE`` first records the server under throughput load with
py-spy (``--gil``: the thread holding the GIL; ``.txt`` for collapsed stacks, else a flame graph).
Not run in CI. ``docs/benchmarks.md`` records results.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import orjson
import uvloop
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from chat_seed import STATEMENTS, Seeded, capture_send, messages_per_second, seed
from harness import BenchFailure, check_quiet, cpu_seconds, folder_options, serve, server_env
from order_create import filesystem_of, pinned
from raw_order import copy_database
from shangliao.storefront.visitors import VISITOR_COOKIE

BENCH_DIR = Path(__file__).resolve().parent
CLIENT_CORE = 1
SERVER_CORE = 0
DRAIN_SECONDS = 20.0  # after a phase, every message must reach every staff socket within this


@dataclass
class _Pending:
    due: float  # when it was (to be) sent, perf_counter seconds
    left: int  # frames still to come about it: one per staff socket, and the sender's ack
    delivered: float | None = None


@dataclass
class Phase:
    sent: int = 0
    delivered: int = 0  # in the counting window (throughput) or in all (latency)
    latencies: list[float] = field(default_factory=list)  # seconds, send -> first staff socket
    acks: list[float] = field(default_factory=list)  # seconds, send -> ack (ours: committed)


class Load:
    """The client side of one server: its customer and staff sockets, and the messages in flight."""

    def __init__(self, name: str, base_url: str, seeded: Seeded, staff: int, tag: str) -> None:
        self.name, self.seeded, self.staff_count = name, seeded, staff
        self.ws_url = base_url.replace("http://", "ws://", 1)
        self.origin = base_url
        self.tag = tag  # keeps client ids unique per server and run
        self.customers: list[ClientConnection] = []
        self.staff: list[ClientConnection] = []
        self.readers: list[asyncio.Task] = []
        self.pending: dict[str, _Pending] = {}
        self.errors: list[str] = []
        self.phase = Phase()
        self.window: tuple[float, float] = (0.0, 0.0)
        self.on_delivered = None  # a throughput phase's callback: frees a slot of the window
        self.next_message = 0
        self.closing = False

    async def open(self, per_second: int) -> None:
        """Every customer socket, ``per_second`` at most (as a crowd arrives, not all in one instant:
        uvicorn pings each socket every 20 s, and sockets opened together are pinged together), then
        the staff's."""
        customers, batch = self.seeded.customers, max(1, per_second // 10)
        for start in range(0, len(customers), batch):
            due = time.perf_counter() + batch / per_second
            opened = await asyncio.gather(*(
                self._connect(f"/s/{self.seeded.slug}/ws", {"Cookie": f"{VISITOR_COOKIE}={c.cookie}"})
                for c in customers[start : start + batch]
            ))  # fmt: skip
            self.customers.extend(opened)
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
        for _ in range(self.staff_count):
            self.staff.append(
                await self._connect("/api/v1/ws", {"Authorization": f"Bearer {self.seeded.token}"})
            )
        self.readers = [asyncio.create_task(self._read_customer(ws)) for ws in self.customers]
        self.readers += [asyncio.create_task(self._read_staff(ws)) for ws in self.staff]

    async def _connect(self, path: str, headers: dict[str, str]) -> ClientConnection:
        return await connect(
            self.ws_url + path, origin=self.origin, additional_headers=headers, compression=None,
            proxy=None, ping_interval=None, open_timeout=30, max_queue=64,
        )  # fmt: skip

    async def close(self) -> None:
        self.closing = True
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in self.customers + self.staff), return_exceptions=True)

    def _lost(self, who: str, exc: ConnectionClosed) -> None:
        if not self.closing:
            self.errors.append(f"{self.name}: a {who} socket closed ({exc})")

    async def _read_customer(self, ws: ClientConnection) -> None:
        try:
            async for text in ws:
                frame = orjson.loads(text)
                kind = frame.get("type")
                if kind == "ack":
                    pending = self.pending.get(frame.get("client_id"))
                    if pending is not None:
                        self.phase.acks.append(time.perf_counter() - pending.due)
                        self._heard(frame["client_id"], pending)
                elif kind == "error":
                    self.errors.append(
                        f"{self.name}: error frame {frame.get('code')}: {frame.get('message')}"
                    )
        except ConnectionClosed as exc:
            self._lost("customer", exc)

    async def _read_staff(self, ws: ClientConnection) -> None:
        try:
            async for text in ws:
                message = orjson.loads(text).get("message")
                if message is None:
                    continue  # pings, pongs, replayed history of another run
                pending = self.pending.get(message.get("client_id"))
                if pending is None:
                    continue
                if pending.delivered is None:
                    pending.delivered = now = time.perf_counter()
                    self._first_delivery(pending, now)
                self._heard(message["client_id"], pending)
        except ConnectionClosed as exc:
            self._lost("staff", exc)

    def _heard(self, client_id: str, pending: _Pending) -> None:
        pending.left -= 1
        if pending.left == 0:
            del self.pending[client_id]

    def _first_delivery(self, pending: _Pending, now: float) -> None:
        start, end = self.window
        if start <= now <= end:
            self.phase.delivered += 1
            self.phase.latencies.append(now - pending.due)
        if self.on_delivered is not None:
            self.on_delivered()

    async def _send(self, due: float) -> None:
        n = self.next_message
        self.next_message += 1
        client_id = f"{self.tag}{n:010d}"
        self.pending[client_id] = _Pending(due, len(self.staff) + 1)
        frame = orjson.dumps({"type": "send", "body": f"{BODY_TEXT}{n}", "client_id": client_id})
        await self.customers[n % len(self.customers)].send(frame.decode())
        self.phase.sent += 1

    async def keepalive(self) -> None:
        """An application ping on every socket, between phases: Shangliao closes a socket that says
        nothing for 75 s, and staff sockets never send otherwise."""
        ping = orjson.dumps({"type": "ping"}).decode()
        await asyncio.gather(*(ws.send(ping) for ws in self.customers + self.staff))
        await asyncio.sleep(0.3)  # the pongs come back before anything is measured

    async def drain(self) -> None:
        deadline = time.perf_counter() + DRAIN_SECONDS
        while self.pending and time.perf_counter() < deadline and not self.errors:
            await asyncio.sleep(0.02)
        self.check()
        if self.pending:
            raise BenchFailure(
                f"{self.name}: {len(self.pending)} messages were not acknowledged and at every staff socket "
                f"{DRAIN_SECONDS:.0f} s after the phase"
            )

    def check(self) -> None:
        if self.errors:
            raise BenchFailure("; ".join(self.errors[:5]))

    async def throughput(self, *, seconds: float, warmup: float, window: int, max_messages: int) -> Phase:
        """Closed loop: ``window`` messages in flight; delivered messages counted over ``seconds``."""
        await self.keepalive()
        self.phase, free = Phase(), asyncio.Semaphore(window)
        self.on_delivered = free.release
        start = time.perf_counter() + warmup
        self.window = (start, start + seconds)
        try:
            while time.perf_counter() < self.window[1] and self.phase.sent < max_messages:
                try:
                    await asyncio.wait_for(free.acquire(), DRAIN_SECONDS)
                except TimeoutError:
                    raise BenchFailure(f"{self.name}: nothing delivered for {DRAIN_SECONDS:.0f} s") from None
                self.check()
                await self._send(time.perf_counter())
            self.window = (start, min(self.window[1], time.perf_counter()))
        finally:
            self.on_delivered = None
        await self.drain()
        return self.phase

    async def latency(self, *, rate: float, seconds: float) -> Phase:
        """Open loop at ``rate``: message k is due at ``start + k / rate``, latency counted from then."""
        await self.keepalive()
        self.phase = Phase()
        start = time.perf_counter() + 0.05
        self.window = (start, float("inf"))
        for k in range(int(rate * seconds)):
            due = start + k / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            self.check()
            await self._send(due)
        await self.drain()
        return self.phase


BODY_TEXT = "你好，请问这件T恤还有M码的红色吗？今天下单能发货吗 #"


def percentile(values: list[float], q: float) -> float:
    if not values:
        raise BenchFailure("a phase delivered no message in its window")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # ms


def raise_open_files(needed: int) -> int:
    """Soft open-file limit up to the hard one (servers started afterwards inherit it)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise BenchFailure(f"the hard open-file limit is {hard}; {needed} are needed (ulimit -Hn)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def server_open_files(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft = line.split()[3]
            return 1 << 62 if soft == "unlimited" else int(soft)
    return 0


@dataclass
class ClientCpu:
    """This process's CPU over a phase, as a share of the phase's wall time (one core = 1.0)."""

    started: float = field(default_factory=time.perf_counter)
    cpu: float = field(default_factory=time.process_time)

    def share(self) -> float:
        return (time.process_time() - self.cpu) / max(time.perf_counter() - self.started, 1e-9)


async def measure_round(loads: dict[str, Load], pids: dict[str, int], seeded: Seeded, workdir: Path,
                        args, n: int) -> dict[str, float]:  # fmt: skip
    figures: dict[str, float] = {}
    for name in ("bare", "ours"):
        load, client, server = loads[name], ClientCpu(), cpu_seconds(pids[name])
        phase = await load.throughput(
            seconds=args.seconds, warmup=args.warmup, window=args.window, max_messages=args.max_messages
        )
        used = sum(cpu_seconds(pids[name])) - sum(server)
        figures[f"{name}_mps"] = phase.delivered / (load.window[1] - load.window[0])
        figures[f"{name}_cpu_ms"] = used * 1000 / max(phase.sent, 1)
        figures[f"{name}_client_core"] = client.share()
        figures[f"{name}_saturated_p99_ms"] = percentile(phase.latencies, 0.99)
    with pinned(SERVER_CORE):
        raw = messages_per_second(workdir / "raw.db", workdir / "data", seeded, seconds=args.raw_seconds,
                                  prefix=f"raw{n}-")  # fmt: skip
        figures["raw_mps"] = raw.mps
        figures["raw_p50_ms"], figures["raw_p99_ms"] = raw.p50_ms, raw.p99_ms
        if args.verbose:
            batched = messages_per_second(workdir / "raw.db", workdir / "data", seeded,
                                          seconds=args.raw_seconds, prefix=f"rawb{n}-", batch=32)  # fmt: skip
            figures["raw_batched_mps"] = batched.mps
    figures["floor_mps"] = 1 / (1 / figures["bare_mps"] + 1 / figures["raw_mps"])
    figures["throughput_ratio"] = figures["ours_mps"] / figures["floor_mps"]
    for name in ("bare", "ours"):
        phase = await loads[name].latency(rate=args.rate, seconds=args.latency_seconds)
        figures[f"{name}_p50_ms"] = percentile(phase.latencies, 0.50)
        figures[f"{name}_p99_ms"] = percentile(phase.latencies, 0.99)
        if name == "ours":
            figures["ours_ack_p99_ms"] = percentile(phase.acks, 0.99)
    figures["p99_ratio"] = figures["ours_p99_ms"] / figures["bare_p99_ms"]
    return figures


ROUND_KEYS = (
    "bare_mps", "raw_mps", "floor_mps", "ours_mps", "throughput_ratio",
    "bare_p50_ms", "bare_p99_ms", "ours_p50_ms", "ours_p99_ms", "p99_ratio",
)  # fmt: skip


def report_round(n: int, figures: dict[str, float], args) -> None:
    print(f"round={n} " + " ".join(f"{k}={figures[k]:.3f}" if "ratio" in k else f"{k}={figures[k]:.1f}"
                                   for k in ROUND_KEYS), flush=True)  # fmt: skip
    for name in ("bare", "ours"):
        if figures[f"{name}_client_core"] > 0.9:
            print(f"# warning: round {n}: the client used {figures[f'{name}_client_core']:.0%} of its core "
                  f"during {name}_mps: that figure may be the client's limit, not the server's")  # fmt: skip
        if args.rate > 0.5 * figures[f"{name}_mps"]:
            print(f"# warning: round {n}: --rate {args.rate:g} is above half of {name}_mps "
                  f"({figures[f'{name}_mps']:.0f}): its latency is measured near saturation")  # fmt: skip
    if args.verbose:
        extra = [k for k in figures if k not in ROUND_KEYS]
        print("#   " + " ".join(f"{k}={figures[k]:.3g}" for k in extra), flush=True)


def compare_statements(workdir: Path, seeded: Seeded) -> None:
    """Say so when the product's send no longer matches the raw transaction's statements."""
    ours = Counter(capture_send(workdir / "data", seeded))
    theirs = Counter(" ".join(s.split()) for s in STATEMENTS) + Counter({"BEGIN IMMEDIATE": 1})
    if ours != theirs:
        more = "; ".join(f"{k[:70]} x{v}" for k, v in (ours - theirs).items()) or "-"
        fewer = "; ".join(f"{k[:70]} x{v}" for k, v in (theirs - ours).items()) or "-"
        print(f"# the product's send differs from the raw transaction: more {more}; fewer {fewer}")


def start_profile(path: str, pid: int, seconds: float) -> subprocess.Popen:
    py_spy = Path(sys.executable).with_name("py-spy")
    fmt = "raw" if path.endswith(".txt") else "flamegraph"
    cmd = ["taskset", "-c", str(CLIENT_CORE), str(py_spy), "record", "-o", path, "--pid", str(pid),
           "--duration", str(int(seconds)), "--rate", "250", "--format", fmt, "--threads", "--gil", "--nonblocking"]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


async def run_load(urls: dict[str, str], pids: dict[str, int], seeded: Seeded, workdir: Path, args) -> None:
    stamp = time.strftime("%H%M%S")
    loads = {
        name: Load(name, urls[name], seeded, args.staff, f"{name}-{stamp}-") for name in ("bare", "ours")
    }
    try:
        for name, load in loads.items():
            started = time.perf_counter()
            await load.open(args.connect_rate)
            print(f"# {name}: {len(load.customers)} customer and {len(load.staff)} staff sockets open "
                  f"in {time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
        for load in loads.values():  # warm-up: imports, caches, the hub's first batch
            await load.throughput(seconds=1, warmup=0.5, window=args.window, max_messages=args.max_messages)
        if args.profile:
            profiler = start_profile(args.profile, pids["ours"], args.seconds + args.warmup)
            await loads["ours"].throughput(seconds=args.seconds, warmup=args.warmup, window=args.window,
                                           max_messages=args.max_messages)  # fmt: skip
            profiler.wait(timeout=60)
            print(f"# profile of ours under throughput load written to {args.profile}")
        rounds = []
        for n in range(1, args.rounds + 1):
            figures = await measure_round(loads, pids, seeded, workdir, args, n)
            report_round(n, figures, args)
            rounds.append(figures)
        for key in rounds[0]:
            values = [r[key] for r in rounds]
            value = statistics.median(values)
            print(
                f"{key}={value:.3f}"
                if any(w in key for w in ("ratio", "core", "cpu"))
                else f"{key}={value:.1f}"
            )
        print(f"throughput_ratio={statistics.median(r['throughput_ratio'] for r in rounds):.3f} "
              f"p99_ratio={statistics.median(r['p99_ratio'] for r in rounds):.3f}")  # fmt: skip
    finally:
        for load in loads.values():
            await load.close()


def run(args: argparse.Namespace) -> None:
    if shutil.which("taskset") is None:
        raise BenchFailure("`taskset` is not installed (Debian: util-linux)")
    sockets = 2 * (args.customers + args.staff)
    limit = raise_open_files(2 * sockets + 256)
    pinned_cores = {SERVER_CORE, CLIENT_CORE}
    if not pinned_cores <= os.sched_getaffinity(0):
        raise BenchFailure("needs cores 0 and 1: the servers on one, the client on the other")
    busy = check_quiet()
    workdir = Path(tempfile.mkdtemp(prefix="shangliao-chat-", dir=args.dir))
    try:
        fstype = filesystem_of(workdir)
        print(f"# {date.today().isoformat()} data in {workdir} ({fstype}); servers on core {SERVER_CORE}, "
              f"client on core {CLIENT_CORE}; open-file limit {limit}")  # fmt: skip
        if busy:
            print(f"# warning: before the run, {busy}")
        if fstype == "tmpfs":
            print("# warning: on tmpfs fsync costs nothing, raw_mps and ours_mps overstate; use --dir")
        started = time.perf_counter()
        seeded = seed(workdir / "data", args.customers)
        print(f"# seeded {args.customers} customers in {time.perf_counter() - started:.1f} s")
        compare_statements(workdir, seeded)
        copy_database(workdir / "data" / "shangliao.db", workdir / "raw.db")
        ours_env = server_env(
            {"SHANGLIAO_DATA_DIR": str(workdir / "data"), "SHANGLIAO_SQLITE_SYNCHRONOUS": "FULL"}
        )
        with ExitStack() as stack:
            servers = {
                "bare": stack.enter_context(serve("chat_floor_app:create_app", env=server_env({}),
                                                  log_path=workdir / "bare.log", app_dir=BENCH_DIR)),
                "ours": stack.enter_context(serve("shangliao.app:serving_app", env=ours_env,
                                                  log_path=workdir / "ours.log")),
            }  # fmt: skip
            for name, server in servers.items():
                if server_open_files(server.pid) < sockets:
                    raise BenchFailure(
                        f"the {name} server may open only {server_open_files(server.pid)} files"
                    )
            os.sched_setaffinity(0, {CLIENT_CORE})  # after the servers started: they pin themselves
            uvloop.run(run_load({k: s.url for k, s in servers.items()}, {k: s.pid for k, s in servers.items()},
                                seeded, workdir, args))  # fmt: skip
    finally:
        if args.keep:
            print(f"# kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 2 short rounds (about 1.5 minutes)"
    )
    parser.add_argument("--customers", type=int, default=1000, help="customer sockets (default 1000)")
    parser.add_argument("--staff", type=int, choices=range(1, 6), default=2, help="staff sockets (default 2)")
    parser.add_argument("--rounds", type=int, help="rounds of every measurement (default 5; quick 2)")
    parser.add_argument("--seconds", type=float, help="each throughput window (default 6; quick 3)")
    parser.add_argument("--warmup", type=float, default=1.0, help="before each throughput window (default 1)")
    parser.add_argument(
        "--window", type=int, default=128, help="messages in flight, throughput (default 128)"
    )
    parser.add_argument("--max-messages", type=int, default=200_000, help="cap per throughput phase")
    parser.add_argument(
        "--rate", type=float, default=200.0, help="offered msg/s for the latencies (default 200)"
    )
    parser.add_argument(
        "--connect-rate", type=int, default=100, help="sockets opened per second (default 100)"
    )
    parser.add_argument("--latency-seconds", type=float, help="each latency run (default 8; quick 4)")
    parser.add_argument("--raw-seconds", type=float, help="each raw sqlite3 run (default 4; quick 2)")
    parser.add_argument(
        "--profile", help="py-spy the server under throughput load first (.svg, or .txt: raw)"
    )
    folder_options(
        parser,
        dir_help="where the temporary data folder goes (default: the system temp dir)",
        keep_help="keep the data folder and server logs",
        verbose_help="print each round's extra figures (CPU per message, client core use, raw batched)",
    )
    args = parser.parse_args()
    quick = args.quick
    args.rounds = args.rounds or (2 if quick else 5)
    args.seconds = args.seconds or (3.0 if quick else 6.0)
    args.latency_seconds = args.latency_seconds or (4.0 if quick else 8.0)
    args.raw_seconds = args.raw_seconds or (2.0 if quick else 4.0)
    run(args)


if __name__ == "__main__":
    main()
