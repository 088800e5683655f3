"""The Alembic migrations build exactly the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from shangliao.storage import migrate
from tests.support.backends import database_url

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request, tmp_path) -> str:
    with database_url(request.param, tmp_path) as url:
        yield url


def table_names(url: str) -> set[str]:
    engine = create_engine(migrate.normalize_url(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrading_an_empty_database_builds_the_models_schema(empty_database):
    # given an empty database
    assert migrate.current(empty_database) is None
    # when it is upgraded to head (twice: the second run must be a no-op)
    migrate.upgrade(empty_database)
    migrate.upgrade(empty_database)
    # then it is at head and autogenerate finds nothing to change
    assert migrate.current(empty_database) == migrate.head()
    assert [migrate.describe(d) for d in migrate.differences(empty_database)] == []
    assert migrate.status(empty_database).ok


def test_downgrading_to_base_removes_every_table_and_upgrading_again_works(empty_database):
    migrate.upgrade(empty_database)
    migrate.downgrade(empty_database, "base")
    assert table_names(empty_database) <= {"alembic_version"}
    assert migrate.current(empty_database) is None
    migrate.upgrade(empty_database)
    assert migrate.differences(empty_database) == []


def test_a_schema_that_drifted_from_the_models_is_reported(tmp_path):
    # given a migrated database where someone dropped an index by hand
    url = f"sqlite:///{tmp_path / 'drift.db'}"
    migrate.upgrade(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_credentials_staff_id"))
    engine.dispose()
    # when it is checked, then the missing index is named and the status is not ok
    described = [migrate.describe(d) for d in migrate.differences(url)]
    assert any("ix_credentials_staff_id" in line for line in described), described
    status = migrate.status(url)
    assert status.at_head and not status.ok


def test_there_is_one_head_and_alembic_ini_uses_the_packaged_migrations():
    # The developer's `alembic` command and `shangliao db upgrade` must see the same history.
    from_ini = ScriptDirectory.from_config(Config(str(REPO / "alembic.ini")))
    assert from_ini.get_heads() == [migrate.head()]
    assert Path(from_ini.dir).resolve() == migrate.MIGRATIONS_DIR


def test_migration_scripts_do_not_use_dialect_specific_sql():
    # The same scripts run on SQLite and PostgreSQL: raw SQL would quietly bind them to one.
    for script in (migrate.MIGRATIONS_DIR / "versions").glob("*.py"):
        source = script.read_text()
        assert "op.execute(" not in source or "portable" in source, script.name
