"""``shangliao serve``: the web application under Uvicorn."""

from __future__ import annotations

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


def run_server(host: str, port: int, workers: int = 1, log_level: str = "info") -> None:
    import uvicorn

    say(
        N_("Shangliao is running at {url} (API docs at {url}/api/v1/docs). Press Ctrl+C to stop."),
        url=f"http://{host}:{port}",
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
) -> None:
    """Serve the web console and the REST API (/api/v1) over HTTP.

    The database must be initialised (`shangliao init`) and at the current revision
    (`shangliao db upgrade`). Put a TLS-terminating proxy (nginx, Caddy) in front for the internet.

    Examples:  shangliao serve  ·  shangliao serve --host 0.0.0.0 --port 8080
    """
    check_workers(workers)
    require_ready(settings())
    run_server(host, port, workers, log_level)
