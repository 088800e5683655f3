"""Which of a shop's orders and conversations a caller may see (a role's *data scope*).

Every ``access_*`` of an order or a conversation, and every list of them, takes a
:data:`Viewer`: the request's :class:`~shangliao.auth.actor.Actor`, or a :class:`Scope` for code
that acts for the shop itself (the shop page's customer, a job, the demo seed). There is no
variant that takes a bare ``shop_id``, so no call site can forget the member's scope: a row out
of scope is a 404, exactly like another shop's (rule 3 of docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import ColumnElement, or_

from shangliao.auth.permissions import SCOPE_ALL


class Viewer(Protocol):
    """What a caller must tell about itself to see orders and conversations (Actor or Scope)."""

    @property
    def shop_id(self) -> int: ...
    @property
    def staff_id(self) -> int | None: ...
    @property
    def data_scope(self) -> str: ...
    @property
    def sees_unassigned(self) -> bool: ...
    @property
    def limited(self) -> bool: ...
    def may_see_assignee(self, assignee_id: int | None) -> bool: ...


class AssigneeRule:
    """Who may see a row by its assignee, from ``data_scope``, ``staff_id`` and ``sees_unassigned``:
    the one rule an :class:`~shangliao.auth.actor.Actor` and a :class:`Scope` both follow."""

    staff_id: int | None
    data_scope: str
    sees_unassigned: bool

    @property
    def limited(self) -> bool:
        """True when only what is assigned to ``staff_id`` is seen (rows outside are 404)."""
        return self.data_scope != SCOPE_ALL

    def may_see_assignee(self, assignee_id: int | None) -> bool:
        """Whether an order or conversation assigned to ``assignee_id`` is in this caller's scope."""
        if not self.limited:
            return True
        return assignee_id == self.staff_id or (assignee_id is None and self.sees_unassigned)


@dataclass(frozen=True)
class Scope(AssigneeRule):
    """A data scope without a person: the whole shop, or (for tests and workers) a member's."""

    shop_id: int
    staff_id: int | None = None
    data_scope: str = SCOPE_ALL
    sees_unassigned: bool = False

    @classmethod
    def whole_shop(cls, shop_id: int) -> Scope:
        """The shop acting for itself: its page's customers (who are scoped by their own rules),
        jobs and seeds. Never for a staff member's request: pass their Actor."""
        return cls(shop_id)


def assigned_condition(who: Viewer, column: ColumnElement) -> ColumnElement[bool] | None:
    """``who``'s scope as a condition on an ``assignee_id`` column; None when they see every row.

    A list that must stay on an index walks the two halves of "mine or unassigned" apart (see
    orders/list_sql.py); this one OR is for lists that read little (the inbox, a customer's page).
    """
    if not who.limited:
        return None
    mine = column == (who.staff_id if who.staff_id is not None else -1)
    return or_(mine, column.is_(None)) if who.sees_unassigned else mine


def within_scope(who: Viewer, column: ColumnElement) -> tuple[ColumnElement[bool], ...]:
    """:func:`assigned_condition` as conditions to spread into ``.where(...)`` (none or one)."""
    condition = assigned_condition(who, column)
    return () if condition is None else (condition,)
