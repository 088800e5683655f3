"""HTTP load for benches: the server pinned to one core, ``wrk`` pinned to the other.

A Python client cannot outrun the server it measures, so the load comes from ``wrk`` (Debian package)
and the two never share a core (docs/benchmarks.md). Every run is bounded in time and
connections and stays on loopback. A run with any non-2xx answer or socket error fails loudly: a fast
error page is not throughput.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SERVER_CORE = "0"
LOAD_CORE = "1"
POST_JSON_LUA = Path(__file__).resolve().with_name("post_json.lua")


class BenchFailure(SystemExit):
    """Stops the bench with a message and a non-zero exit status."""

    def __init__(self, message: str) -> None:
        super().__init__(f"bench failed: {message}")


def require_tools() -> None:
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            raise BenchFailure(f"`{tool}` is not installed (Debian: apt-get install {tool})")
    if (os.cpu_count() or 1) < 2:
        raise BenchFailure("needs two cores: the server on one, wrk on the other")


def check_quiet() -> str | None:
    """A warning when other work already keeps the cores busy: the figures would be low and noisy."""
    load = os.getloadavg()[0]
    if load > 0.5:
        return f"load average {load:.1f}: other work shares these cores, figures will be low"
    return None


def warn_if_busy() -> None:
    """Say before a run that the figures will be noisy, when :func:`check_quiet` finds the cores busy."""
    busy = check_quiet()
    if busy:
        print(f"# warning: before the run, {busy}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(extra: dict[str, str]) -> dict[str, str]:
    """The caller's environment minus any ``SHANGLIAO_*`` (a stray DATABASE_URL would point elsewhere)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHANGLIAO_")}
    env.update(extra)
    return env


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass(frozen=True)
class Server:
    url: str
    pid: int


@contextmanager
def serve(
    app: str, *, env: dict[str, str], log_path: Path, app_dir: Path | None = None, start_timeout: float = 30.0
) -> Iterator[Server]:
    """Run ``uvicorn <app> --factory`` on the server core; yield it once /healthz answers (within
    ``start_timeout`` seconds: a busy machine takes longer to import the app)."""
    port = free_port()
    cmd = ["taskset", "-c", SERVER_CORE, sys.executable, "-m", "uvicorn", app, "--factory"]
    if app_dir is not None:
        cmd += ["--app-dir", str(app_dir)]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log_path, start_timeout)
        yield Server(url, proc.pid)  # taskset execs the server: same pid
        if proc.poll() is not None:
            raise BenchFailure(f"{app} exited during the run:\n{_tail(log_path)}")
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_healthy(url: str, proc: subprocess.Popen, log_path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchFailure(f"the server exited at start-up:\n{_tail(log_path)}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise BenchFailure(f"no answer from {url}/healthz within {timeout:.0f} s:\n{_tail(log_path)}")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """``(user, system)`` CPU seconds a process has used so far, all its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


@dataclass(frozen=True)
class WrkResult:
    rps: float
    requests: int
    non_2xx: int
    socket_errors: int
    latency: str
    output: str


_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_REQUESTS = re.compile(r"^\s*(\d+) requests in", re.M)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_LATENCY = re.compile(r"^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)", re.M)


def parse_wrk(output: str) -> WrkResult:
    rps, requests = _RPS.search(output), _REQUESTS.search(output)
    if rps is None or requests is None:
        raise BenchFailure(f"could not read wrk's output:\n{output}")
    non_2xx = _NON_2XX.search(output)
    sockets = _SOCKET.search(output)
    latency = _LATENCY.search(output)
    return WrkResult(
        rps=float(rps.group(1)),
        requests=int(requests.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
        latency=f"avg {latency.group(1)} stdev {latency.group(2)} max {latency.group(3)}" if latency else "",
        output=output,
    )


def wrk_post(
    url: str,
    body: str,
    *,
    token: str | None,
    seconds: int,
    connections: int,
    threads: int = 1,
    label: str,
) -> WrkResult:
    """POST ``body`` to ``url`` for ``seconds``; refuse the run if any answer was not 2xx."""
    cmd = [
        "taskset", "-c", LOAD_CORE, "wrk",
        f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
        "-s", str(POST_JSON_LUA), url,
    ]  # fmt: skip
    env = {**os.environ, "BENCH_BODY": body, "BENCH_TOKEN": token or ""}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise BenchFailure(f"wrk ({label}) exited with {done.returncode}:\n{done.stdout}{done.stderr}")
    result = parse_wrk(done.stdout)
    if result.requests == 0:
        raise BenchFailure(f"{label}: wrk completed no request:\n{done.stdout}")
    if result.non_2xx or result.socket_errors:
        raise BenchFailure(
            f"{label}: {result.non_2xx} non-2xx answers and {result.socket_errors} socket errors "
            f"out of {result.requests} requests:\n{done.stdout}"
        )
    return result


def folder_options(parser, *, dir_help: str, keep_help: str, verbose_help: str) -> None:
    """The options every bench that makes data folders shares: where, whether to keep, how loud."""
    parser.add_argument("--dir", help=dir_help)
    parser.add_argument("--keep", action="store_true", help=keep_help)
    parser.add_argument("--verbose", "-v", action="store_true", help=verbose_help)
