"""``shangliao serve``: the web application under Uvicorn, over http or, given a certificate, https."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shangliao.cli.common import USAGE_ERROR, fail, require_ready, say, settings, t
from shangliao.core.i18n import N_
from shangliao.web.client_address import SERVER_OPTIONS

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000

HostOption = Annotated[
    str,
    typer.Option(
        "--host",
        help="Address to listen on. 127.0.0.1 (default) is this machine only; 0.0.0.0 is every network.",
    ),
]
PortOption = Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port to listen on.")]
CertOption = Annotated[
    Path | None,
    typer.Option(
        "--certfile",
        help="PEM certificate (with its chain) to serve HTTPS directly, without a proxy. Needs --keyfile.",
    ),
]
KeyOption = Annotated[Path | None, typer.Option("--keyfile", help="PEM private key of --certfile.")]


def check_workers(workers: int) -> None:
    """Several processes need PostgreSQL: SQLite has one writer, and our write queue is per process."""
    if workers > 1 and settings().is_sqlite:
        fail(
            t(
                N_(
                    "--workers {n} needs PostgreSQL: with SQLite, Shangliao runs as one process, because "
                    "SQLite allows one writer and the write queue lives inside the process. Set "
                    "SHANGLIAO_DATABASE_URL=postgresql://user@host/db for several workers, or use --workers 1."
                ),
                n=workers,
            ),
            code=USAGE_ERROR,
        )


def tls_options(certfile: Path | None, keyfile: Path | None) -> dict[str, str]:
    """Uvicorn's TLS options, or none for plain http; both files or neither, and both readable,
    so a typo stops here with advice rather than as a handshake error in every browser."""
    if certfile is None and keyfile is None:
        return {}
    if certfile is None or keyfile is None:
        fail(t(N_("HTTPS needs both --certfile and --keyfile.")), code=USAGE_ERROR)
    for path in (certfile, keyfile):
        if not path.is_file():
            fail(t(N_("Cannot read {path}: no such file."), path=path), code=USAGE_ERROR)
    return {"ssl_certfile": str(certfile), "ssl_keyfile": str(keyfile)}


def run_server(
    host: str, port: int, workers: int = 1, log_level: str = "info", tls: dict[str, str] | None = None
) -> None:
    import uvicorn

    tls = tls or {}
    say(
        N_("Shangliao is running at {url} (API docs at {url}/api/v1/docs). Press Ctrl+C to stop."),
        url=f"{'https' if tls else 'http'}://{host}:{port}",
    )
    # The factory (not an app object) so every worker process builds its own runtime and pools.
    uvicorn.run(
        "shangliao.app:serving_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        **SERVER_OPTIONS,  # X-Forwarded-For is believed only from SHANGLIAO_TRUSTED_PROXIES
        **tls,  # the request scheme is then https: HSTS and Secure cookies follow from it
    )


def serve(
    host: HostOption = DEFAULT_HOST,
    port: PortOption = DEFAULT_PORT,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="Number of server processes. More than 1 needs PostgreSQL (SHANGLIAO_DATABASE_URL).",
        ),
    ] = 1,
    log_level: Annotated[
        str, typer.Option("--log-level", help="Uvicorn log level: critical, error, warning, info, debug.")
    ] = "info",
    certfile: CertOption = None,
    keyfile: KeyOption = None,
) -> None:
    """Serve the web console and the REST API (/api/v1) over HTTP, or HTTPS with a certificate.

    The database must be initialised (`shangliao init`) and at the current revision
    (`shangliao db upgrade`). For the internet, serve HTTPS: with --certfile and --keyfile, or
    behind a TLS-terminating proxy (nginx, Caddy; docs/operations.md).

    Examples:  shangliao serve  ·  shangliao serve --host 0.0.0.0 --port 8443 --certfile fullchain.pem --keyfile privkey.pem
    """
    check_workers(workers)
    tls = tls_options(certfile, keyfile)
    require_ready(settings())
    run_server(host, port, workers, log_level, tls)
