"""The ``shangliao`` command: set up, run and look after an installation."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from shangliao import __version__
from shangliao.cli import chat, db, keys, orders, roles, serving, setup, shops, stats, users, worker
from shangliao.config import get_settings

app = typer.Typer(
    rich_markup_mode="markdown",
    name="shangliao",
    help=(
        "Shangliao (商聊): a self-hosted chat-commerce order desk.\n\n"
        "Start with `shangliao demo` to try it, or `shangliao init` then `shangliao serve` for real use. "
        "Settings come from SHANGLIAO_* environment variables: SHANGLIAO_DATA_DIR (default ./shangliao-data), "
        "SHANGLIAO_DATABASE_URL (PostgreSQL, e.g. postgresql://user@host/db; SQLite in the data folder "
        "when unset), SHANGLIAO_REDIS_URL, SHANGLIAO_SECRET_KEY."
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold passwords and keys
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"shangliao {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Data folder (database, secret key, uploads); overrides SHANGLIAO_DATA_DIR.",
            file_okay=False,
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    if data_dir is not None:
        # Through the environment, so server worker processes started later see it too.
        os.environ["SHANGLIAO_DATA_DIR"] = str(data_dir)
        get_settings.cache_clear()


app.command("init")(setup.init)
app.command("serve")(serving.serve)
app.command("demo")(setup.demo)
app.command("seed")(setup.seed)
app.command("worker")(worker.worker)
app.add_typer(db.app, name="db")
app.add_typer(shops.app, name="shop")
app.add_typer(users.app, name="user")
app.add_typer(roles.app, name="role")
app.add_typer(orders.app, name="orders")
app.add_typer(chat.app, name="chat")
app.add_typer(keys.app, name="keys")
app.add_typer(stats.app, name="stats")

if __name__ == "__main__":
    app()
