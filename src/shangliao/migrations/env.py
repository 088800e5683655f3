"""Alembic environment: the models are the target; the URL comes from the caller or the settings.

``shangliao.storage.migrate`` passes the database URL in ``config.attributes``; run from the
repository's ``alembic.ini`` instead, the URL comes from the same settings as the application
(``SHANGLIAO_DATABASE_URL``, else SQLite in ``SHANGLIAO_DATA_DIR``).
"""

from __future__ import annotations

from alembic import context

from shangliao.config import get_settings
from shangliao.storage import migrate

config = context.config


def database_url() -> str:
    return (
        config.attributes.get("database_url")
        or config.get_main_option("sqlalchemy.url")
        or get_settings().resolved_database_url
    )


def run_offline() -> None:
    """``alembic upgrade head --sql``: print the SQL instead of running it."""
    url = migrate.normalize_url(database_url())
    context.configure(url=url, literal_binds=True, **migrate.context_options())
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = migrate.migration_engine(database_url())
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, **migrate.context_options())
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
