"""Running a table's reviewed trigger SQL, chosen by dialect, with a migration's ``op.execute``.

The audit log's append-only guard (``audit/models.py``) and the order count triggers
(``orders/counts.py``) each keep their SQL per dialect as ``{"sqlite": (...), "postgresql": (...)}``;
this runs one dialect's statements in order, and refuses a dialect with none before running any.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

StatementsByDialect = Mapping[str, tuple[str, ...]]


def execute_for_dialect(
    execute: Callable[[str], Any], statements: StatementsByDialect, dialect: str, *, missing: str
) -> None:
    """Run ``statements[dialect]`` with ``execute(sql)``; without them raise ``missing for <dialect>``."""
    try:
        chosen = statements[dialect]
    except KeyError:
        raise RuntimeError(f"{missing} for {dialect}") from None
    for sql in chosen:
        execute(sql)
