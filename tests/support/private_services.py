"""Private Redis and PostgreSQL servers that a fault test may stop, freeze or restart.

Never the shared ones on the usual ports: every other test (and engineer) relies on those. Each
server runs in its own temporary folder on a free port and is killed when the block ends, whatever
state the test left it in (a frozen process is thawed first, or it would ignore the kill).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.backends import unavailable
from tests.support.live import free_port

START_TIMEOUT = 15.0


class Service:
    """One server process: ``freeze`` (SIGSTOP) and ``thaw`` stand for a hang, ``stop`` and
    ``start`` for a crash and a restart on the same port."""

    def __init__(self, name: str, command: list[str], ready, *, user: str | None = None) -> None:
        self.name, self._command, self._ready, self._user = name, command, ready, user
        self.process: subprocess.Popen | None = None
        self.frozen = False

    def start(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        self._launch()
        while not self._ready():
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"private {self.name} did not start")
            if self.process.poll() is not None:
                # Exited at once: after a kill, PostgreSQL refuses to start while a killed backend
                # still holds its shared memory. Those go within moments: launch it again.
                time.sleep(0.2)
                self._launch()
            time.sleep(0.05)

    def _launch(self) -> None:
        command = ["runuser", "-u", self._user, "--", *self._command] if self._user else self._command
        # Its own process group, so stopping it never reaches the test runner.
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )

    def _signal(self, sig: int) -> None:
        """Signal the server and every process under it, parents first (a frozen parent forks no
        new child). PostgreSQL puts each backend in a session of its own, out of the group's reach."""
        if self.process is None or self.process.poll() is not None:
            return
        for pid in _tree(self.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def freeze(self) -> None:
        self._signal(signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        self._signal(signal.SIGCONT)
        self.frozen = False

    def stop(self) -> None:
        """Kill it (a crash), so that ``start`` can bring it back on the same port and data."""
        if self.process is None:
            return
        if self.frozen:
            self.thaw()
        if self._user and self.process.poll() is None:
            # Under runuser the server is runuser's child: kill it and let runuser reap it and
            # exit. Killed together, the server would be left to a container's pid 1, which may
            # never reap it, and PostgreSQL would take the zombie's pid in postmaster.pid for a
            # live server and refuse to start again.
            for pid in _tree(self.process.pid)[1:]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
        self._signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None


def _tree(root: int) -> list[int]:
    """``root`` and its descendants, parents before children (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])  # the field after the state
        children.setdefault(parent, []).append(int(entry))
    order, queue = [], [root]
    while queue:
        pid = queue.pop(0)
        order.append(pid)
        queue.extend(children.get(pid, []))
    return order


def _can_connect(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@contextmanager
def _run_service(service: Service, url: str, folder: Path) -> Iterator[tuple[Service, str]]:
    """Start ``service``; yield it and its URL; kill it and remove its folder however the block
    ends."""
    try:
        service.start()
        yield service, url
    finally:
        service.stop()
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def private_redis() -> Iterator[tuple[Service, str]]:
    """A throw-away ``redis-server``; yields it and its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis", "redis-server is not installed")
    folder = Path(tempfile.mkdtemp(prefix="shangliao-redis-"))
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    service = Service("redis", [*command, "--dir", str(folder)], lambda: _can_connect(port))
    with _run_service(service, f"redis://127.0.0.1:{port}/0", folder) as running:
        yield running


def _pg_binary(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


@contextmanager
def private_postgres() -> Iterator[tuple[Service, str]]:
    """A throw-away PostgreSQL cluster (``initdb`` into a temporary folder); yields it and the URL
    of its ``postgres`` database. Run as the ``postgres`` OS user when the tests run as root."""
    initdb, postgres = _pg_binary("initdb"), _pg_binary("postgres")
    if initdb is None or postgres is None:
        unavailable("postgres", "initdb/postgres are not installed")
    user = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="shangliao-pg-"))
    if user:
        shutil.chown(folder, user)
    data = folder / "data"
    prefix = ["runuser", "-u", user, "--"] if user else []
    try:
        subprocess.run(
            [*prefix, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    except (subprocess.CalledProcessError, OSError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        unavailable("postgres", f"initdb failed: {exc}")
    port = free_port()
    options = [
        "-D", str(data), "-p", str(port), "-k", str(folder), "-c", "listen_addresses=127.0.0.1",
        "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
    ]  # fmt: skip
    service = Service("postgres", [postgres, *options], lambda: _pg_ready(port), user=user)
    with _run_service(service, f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", folder) as running:
        yield running


def _pg_ready(port: int) -> bool:
    import psycopg

    try:
        with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", connect_timeout=1):
            return True
    except psycopg.Error:
        return False
