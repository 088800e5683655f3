"""``storage/base.py`` ``all_models()`` loads every domain's tables in a fresh process.

Alembic, ``shangliao init`` and ``make migration-reset`` see only the tables ``all_models()``
imports. Inside the test process every model is imported anyway (the app imports them), so
``test_migrations.py`` cannot notice a domain missing from that list; a fresh interpreter can: a
table left out would be dropped by the next migration reset and reported as a difference by init.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import shangliao
from shangliao.storage.base import Base

PACKAGE = Path(shangliao.__file__).resolve().parent

LISTED_IN_A_FRESH_PROCESS = (
    "from shangliao.storage.base import all_models; print(' '.join(sorted(all_models().tables)))"
)


def _every_models_module_imported() -> set[str]:
    """The tables of every ``models.py`` in the package, found on disk rather than from a list."""
    for path in sorted(PACKAGE.rglob("models.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        __import__(module)
    return set(Base.metadata.tables)


def test_all_models_lists_every_domains_tables():
    # given every table defined by any models module of the package
    defined = _every_models_module_imported()

    # when a fresh interpreter asks all_models() for the schema
    listed = subprocess.run(
        [sys.executable, "-c", LISTED_IN_A_FRESH_PROCESS], capture_output=True, text=True, check=True
    ).stdout.split()

    # then it holds every one of them
    assert sorted(defined - set(listed)) == []
