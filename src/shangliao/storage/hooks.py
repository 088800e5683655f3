"""After-commit hooks (rule 2 of docs/architecture.md): work that must happen only once a transaction has committed."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

AfterCommit = Callable[[], None]
_KEY = "after_commit"


def after_commit(session: Session, hook: AfterCommit) -> None:
    """Run ``hook`` after ``session`` commits; dropped if it rolls back."""
    session.info.setdefault(_KEY, []).append(hook)


def pending_count(session: Session) -> int:
    return len(session.info.get(_KEY, ()))


def drop_since(session: Session, count: int) -> None:
    """Forget the hooks registered after ``pending_count`` returned ``count`` (a savepoint rolled back)."""
    del session.info.get(_KEY, [])[count:]


def take(session: Session) -> list[AfterCommit]:
    return session.info.pop(_KEY, [])


def run(hooks: list[AfterCommit]) -> None:
    for hook in hooks:
        try:
            hook()
        except Exception:  # a subscriber's failure must not turn a committed request into a 500
            log.exception("after-commit hook failed")
