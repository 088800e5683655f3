"""Test databases: a SQLite file and, when reachable, a throw-away PostgreSQL database.

``SHANGLIAO_TEST_REQUIRE=postgres,redis,browser`` (set by CI) turns "not available" into a failure,
so CI proves everything while a laptop without PostgreSQL still runs the SQLite half.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REQUIRED = {p.strip() for p in os.environ.get("SHANGLIAO_TEST_REQUIRE", "").split(",") if p.strip()}
PG_ADMIN_URL = os.environ.get(
    "SHANGLIAO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def unavailable(what: str, why: str) -> None:
    """Skip, or fail when CI requires ``what``."""
    message = f"{what} not available: {why}"
    if what in REQUIRED:
        pytest.fail(message + f" (required by SHANGLIAO_TEST_REQUIRE={','.join(sorted(REQUIRED))})")
    pytest.skip(message)


@contextmanager
def postgres_database() -> Iterator[str]:
    """Create a uniquely named database, yield its URL, drop it afterwards."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"shangliao_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        unavailable("postgres", str(exc).splitlines()[0])
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def database_url(backend: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'test.db'}"
    else:
        with postgres_database() as url:
            yield url
