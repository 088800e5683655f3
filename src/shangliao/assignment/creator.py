"""Who takes what a member makes: a limited member keeps sight of their own new work.

A member whose role sees only what is assigned to them (plus, maybe, the unassigned) would lose
a new order or conversation the moment it was made unassigned (404 on the page they are sent to),
and a member who sees the unassigned would lose it as soon as round-robin gave it to someone
else. So what they make naming nobody is theirs; whoever sees the whole shop is left to
round-robin or nobody, as before.
"""

from __future__ import annotations

from shangliao.auth.actor import Actor


def creator_takes(actor: Actor, assignee_id: int | None) -> int | None:
    """The member themself when a limited member makes an order or opens a conversation naming
    nobody (``assignee_id`` None); otherwise None (the named one or round-robin decides)."""
    if assignee_id is None and actor.limited and actor.staff_id is not None:
        return actor.staff_id
    return None
