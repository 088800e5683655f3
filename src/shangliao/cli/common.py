"""What every command shares: consoles, translated messages, errors, opening the runtime safely."""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import OperationalError

from shangliao.config import Settings, get_settings
from shangliao.core.errors import ShangliaoError
from shangliao.core.i18n import N_, gettext
from shangliao.runtime import Runtime
from shangliao.storage import migrate

# soft_wrap: long messages (paths, URLs, commands to copy) stay on one line instead of being cut.
console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])

USAGE_ERROR = 2  # the exit code click uses for bad options, so scripts can tell "you asked wrong"


def cli_locale() -> str:
    """Chinese messages for a Chinese terminal (``LANG=zh_CN.UTF-8``), English otherwise."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return "zh_CN" if value.lower().startswith("zh") else "en"
    return "en"


def t(message: str, **params: Any) -> str:
    """Translate an ``N_``-marked message for the terminal and fill its parameters."""
    return gettext(message, cli_locale(), **params)


def say(message: str, **params: Any) -> None:
    """Print a translated message; parameters are escaped so ``[x]`` in a name is not Rich markup."""
    console.print(t(message, **{k: escape(str(v)) for k, v in params.items()}))


def fail(message: str, *, code: int = 1) -> NoReturn:
    """Print an already translated message as an error and stop with ``code``."""
    err_console.print(f"[bold red]{escape(t(N_('Error')))}:[/] {escape(message)}")
    raise typer.Exit(code)


def reports_errors(fn: F) -> F:
    """Show a refusal from the services (a ShangliaoError) as a readable message, not a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ShangliaoError as exc:
            fail(f"{exc.localized(cli_locale())} ({exc.code})")

    return wrapper  # type: ignore[return-value]


def settings() -> Settings:
    return get_settings()


def describe_database(s: Settings) -> str:
    """Where the data lives, without a password."""
    if s.is_sqlite:
        return str(sqlite_path(s))
    from sqlalchemy.engine import make_url

    return make_url(s.resolved_database_url).render_as_string(hide_password=True)


def sqlite_path(s: Settings) -> Path:
    return Path(s.resolved_database_url.removeprefix("sqlite:///"))


def database_revision(s: Settings) -> str | None:
    """The schema revision, or None for a database never initialised; never creates a SQLite file."""
    if s.is_sqlite and not sqlite_path(s).exists():
        return None
    try:
        return migrate.current(s.resolved_database_url)
    except OperationalError as exc:
        fail(
            t(
                N_("Cannot reach the database {db}: {reason}"),
                db=describe_database(s),
                reason=str(exc.orig or exc).strip().splitlines()[0],
            )
        )


def report_upgrade(s: Settings, before: str | None, after: str | None) -> None:
    """Say what an upgrade did: nothing, or from which revision to which."""
    if after == before:
        say(N_("Database {db} is up to date (revision {rev})."), db=describe_database(s), rev=after)
    else:
        say(
            N_("Database {db} upgraded from {old} to revision {rev}."),
            db=describe_database(s),
            old=before or t(N_("empty")),
            rev=after,
        )


def check_key_present(s: Settings, revision: str | None) -> None:
    """Refuse to run with a database but no key: a fresh key would make its encrypted data unreadable."""
    if revision is not None and s.secret_key is None and not s.key_file.exists():
        fail(
            t(
                N_(
                    "The database exists but the secret key file {path} is missing. Restore it from "
                    "your backup (or set SHANGLIAO_SECRET_KEY): without it the encrypted customer "
                    "phones and addresses cannot be read, so Shangliao will not make a new one."
                ),
                path=s.key_file,
            )
        )


def refuse_missing_keys(s: Settings) -> None:
    """Stop, saying which key to restore and where, when the data needs a key the ring lacks."""
    from sqlalchemy import create_engine

    from shangliao.core import keys, keys_data
    from shangliao.core.crypto import Keyring

    engine = create_engine(s.resolved_database_url)
    try:
        keys_data.refuse_missing_keys(engine, Keyring.from_settings(s), keys.source(s).describe())
    except keys_data.MissingKeyError as exc:
        fail(t(exc.message, **exc.params))
    finally:
        engine.dispose()


def require_ready(s: Settings, *, keys_needed: bool = True) -> str:
    """Stop with advice unless the database is initialised, at the newest revision, and keyed
    (``keys_needed=False``: the ``keys`` commands, which report on a ring that lacks keys)."""
    revision = database_revision(s)
    if revision is None:
        fail(
            t(
                N_("No Shangliao database at {db} yet. Run `shangliao init` first."),
                db=describe_database(s),
            )
        )
    check_key_present(s, revision)
    head = migrate.head()
    if revision != head:
        fail(
            t(
                N_(
                    "The database is at revision {current} but this version of Shangliao needs {head}. "
                    "Back up the data folder, then run `shangliao db upgrade`."
                ),
                current=revision,
                head=head,
            )
        )
    if keys_needed:
        refuse_missing_keys(s)
    return revision


@contextmanager
def open_runtime(*, check: bool = True, keys_needed: bool = True) -> Iterator[Runtime]:
    """The runtime for a command that uses the database; checked first unless ``check=False``."""
    s = settings()
    if check:
        require_ready(s, keys_needed=keys_needed)
    # require_ready has checked the keys already (or was told not to).
    rt = Runtime.build(s, check_keys=keys_needed and not check)
    try:
        yield rt
    finally:
        rt.close()


PASSWORD_ENV = "SHANGLIAO_PASSWORD"


def password_or_prompt(password: str | None, *, for_whom: str) -> str:
    """The password given as an option, else asked on the terminal; never prompts without one."""
    if password:
        return password
    if not sys.stdin.isatty():
        fail(
            t(
                N_(
                    "No password given for {who}. Pass --password (or set {env}); there is no terminal "
                    "to ask on."
                ),
                who=for_whom,
                env=PASSWORD_ENV,
            ),
            code=USAGE_ERROR,
        )
    return typer.prompt(t(N_("Password for {who}"), who=for_whom), hide_input=True, confirmation_prompt=True)


_DURATION = re.compile(r"^\s*(\d+)\s*([dhwm]?)\s*$", re.IGNORECASE)
_UNITS = {"": "days", "d": "days", "h": "hours", "w": "weeks", "m": "minutes"}


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``2w``, ``90m`` or a bare number of days."""
    match = _DURATION.match(text)
    if not match:
        raise typer.BadParameter(
            t(N_("{value} is not a duration; write it like 30d, 12h, 2w or 90m."), value=text)
        )
    amount, unit = int(match.group(1)), match.group(2).lower()
    return timedelta(**{_UNITS[unit]: amount})
