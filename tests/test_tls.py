"""``shangliao serve --certfile --keyfile`` serves HTTPS, and HSTS is sent over TLS only.

The server is the real command in a process of its own, on a fresh data folder, with a
certificate made by the test; the client trusts exactly that certificate.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from shangliao.cli.main import app as cli
from shangliao.config import Settings, ensure_data_dir, get_settings
from shangliao.storage import migrate
from tests.support.live import free_port
from tests.support.tls import self_signed

SECRET = "17" * 32
HSTS = "strict-transport-security"


def shangliao_command() -> list[str]:
    """The installed ``shangliao`` script next to this interpreter (as an operator runs it)."""
    script = Path(sys.executable).with_name("shangliao")
    return [str(script)] if script.exists() else [shutil.which("shangliao") or "shangliao"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """An initialised data folder (SQLite), as `shangliao init` leaves it."""
    folder = tmp_path_factory.mktemp("tls") / "data"
    settings = Settings(data_dir=folder, secret_key=SECRET)
    ensure_data_dir(settings)
    migrate.upgrade(settings.resolved_database_url)
    return folder


@contextmanager
def serving(data_dir: Path, *options: str, verify: ssl.SSLContext | bool = False) -> Iterator[str]:
    """``shangliao serve`` with ``options`` on a free port; yields its base URL once it answers."""
    port = free_port()
    scheme = "https" if "--certfile" in options else "http"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHANGLIAO_")} | {
        "SHANGLIAO_DATA_DIR": str(data_dir),
        "SHANGLIAO_SECRET_KEY": SECRET,
    }
    command = [*shangliao_command(), "serve", "--port", str(port), "--log-level", "warning", *options]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"{scheme}://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/healthz", verify=verify, timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    raise RuntimeError(
                        f"shangliao serve did not start: {proc.stdout.read().decode()}"
                    ) from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_https_answers_carry_hsts(data_dir, tmp_path):
    # given `shangliao serve` with a certificate and its key
    cert, key = self_signed(tmp_path)
    trusts = ssl.create_default_context(cafile=str(cert))
    with serving(data_dir, "--certfile", str(cert), "--keyfile", str(key), verify=trusts) as url:
        # when a client that trusts that certificate asks for the sign-in page and the API
        page = httpx.get(url + "/login", verify=trusts)
        api = httpx.get(url + "/api/v1/auth/me", verify=trusts)
    # then both are served over TLS and pin the browser to HTTPS
    assert url.startswith("https://") and page.status_code == 200
    assert page.headers[HSTS] == "max-age=31536000"
    assert api.status_code == 401 and api.headers[HSTS] == "max-age=31536000"


def test_plain_http_never_sends_hsts(data_dir):
    # given `shangliao serve` without a certificate (no proxy trusted)
    with serving(data_dir) as url:
        # when a client asks, even claiming a forwarded https scheme nobody vouches for
        page = httpx.get(url + "/login")
        forged = httpx.get(url + "/login", headers={"X-Forwarded-Proto": "https"})
    # then no answer carries HSTS
    assert page.status_code == 200 and HSTS not in page.headers
    assert forged.status_code == 200 and HSTS not in forged.headers


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--certfile", "cert.pem"], "both --certfile and --keyfile"),
        (["--certfile", "missing.pem", "--keyfile", "missing.key"], "no such file"),
    ],
)
def test_serve_refuses_half_a_certificate(data_dir, monkeypatch, options, says):
    # given an operator who gives one file, or a path with a typo
    monkeypatch.setenv("SHANGLIAO_DATA_DIR", str(data_dir))
    monkeypatch.setenv("SHANGLIAO_SECRET_KEY", SECRET)
    monkeypatch.setenv("LANG", "C.UTF-8")
    get_settings.cache_clear()
    try:
        # when they start the server
        result = CliRunner().invoke(cli, ["serve", *options])
    finally:
        get_settings.cache_clear()
    # then it stops at once and says what is wrong
    assert result.exit_code != 0
    assert says in result.output
