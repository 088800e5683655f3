"""Assigning conversations: one (the inbox's 分配), many at once, and round-robin for new ones."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator
from sqlalchemy.orm import Session

from shangliao.assignment import round_robin
from shangliao.assignment.apply import check_assignment, tell_assignee
from shangliao.assignment.creator import creator_takes
from shangliao.auth.actor import Actor
from shangliao.chat.models import Conversation
from shangliao.chat.service import access_conversation
from shangliao.core import clock
from shangliao.core.errors import ShangliaoError
from shangliao.core.schemas import MAX_ID, StrictModel
from shangliao.events.log import DomainEvent, record
from shangliao.storage.database import Database

MAX_BULK = 200


def _record(session: Session, conversation: Conversation, previous: int | None, by: int | None) -> None:
    """The conversation's record of the move: who gave it (``by``; None for round-robin) from
    whom to whom. Ids only (rule 8 of docs/architecture.md)."""
    record(
        session,
        conversation.shop_id,
        [
            DomainEvent(
                "conversation.assigned",
                "conversation",
                conversation.id,
                {"assignee_id": conversation.assignee_id, "previous_assignee_id": previous, "by": by},
            )
        ],
    )


def do_assign_conversation(
    session: Session, actor: Actor, conversation_id: int, assignee_id: int | None
) -> Conversation:
    """Give the conversation to ``assignee_id`` (None: nobody) under assignment/rules.py."""
    conversation = access_conversation(session, actor, conversation_id, lock=True)
    previous = conversation.assignee_id
    if previous == assignee_id:
        return conversation
    check_assignment(session, actor, conversation.shop_id, "conversation", previous, assignee_id)
    conversation.assignee_id = assignee_id
    conversation.updated_at = clock.now()
    session.flush()
    _record(session, conversation, previous, actor.staff_id)
    tell_assignee(session, actor, conversation.shop_id, "conversation", conversation.id, assignee_id)
    return conversation


def do_auto_assign_conversation(session: Session, conversation: Conversation) -> None:
    """A new conversation, given round-robin when the shop says so (nobody online: left alone)."""
    if conversation.assignee_id is not None:
        return
    chosen = round_robin.pick(session, conversation.shop_id, "conversation")
    if chosen is None:
        return
    conversation.assignee_id = chosen
    session.flush()
    _record(session, conversation, None, None)
    tell_assignee(session, None, conversation.shop_id, "conversation", conversation.id, chosen)


def claim_opened_conversation(session: Session, actor: Actor, conversation: Conversation) -> None:
    """A limited member who opens a customer's conversation to write first takes it when nobody
    has it and nobody wrote in it yet (unassigned, it would be out of their sight at once; one
    with messages stays where it is: opening is not a way into an unassigned history)."""
    if conversation.assignee_id is not None or conversation.message_count:
        return
    taker = creator_takes(actor, None)
    if taker is None:
        return
    check_assignment(session, actor, conversation.shop_id, "conversation", None, taker)
    conversation.assignee_id = taker
    conversation.updated_at = clock.now()
    session.flush()
    _record(session, conversation, None, actor.staff_id)


class BulkAssignIn(StrictModel):
    conversation_ids: list[int] = Field(
        min_length=1,
        max_length=MAX_BULK,
        description=f"Up to {MAX_BULK} conversation ids; repeats count once.",
    )
    assignee_id: int | None = Field(description="A member of the shop; null to unassign.", ge=1, le=MAX_ID)

    @field_validator("conversation_ids")
    @classmethod
    def _distinct_ids(cls, ids: list[int]) -> list[int]:
        if any(i < 1 or i > MAX_ID for i in ids):
            raise ValueError("conversation ids are positive integers")
        return list(dict.fromkeys(ids))


def assign_many(db: Database, actor: Actor, body: BulkAssignIn, locale: str) -> dict[str, Any]:
    """Each conversation in its own unit (rule 1 of docs/architecture.md): one refused (out of
    scope, gone) never undoes the others; the answer lists each outcome in the request's order."""
    results: list[dict[str, Any]] = []
    for conversation_id in body.conversation_ids:
        try:
            with db.write() as session:
                conversation = do_assign_conversation(session, actor, conversation_id, body.assignee_id)
                results.append({"id": conversation_id, "ok": True, "assignee_id": conversation.assignee_id})
        except ShangliaoError as exc:
            results.append(
                {
                    "id": conversation_id,
                    "ok": False,
                    "error": {
                        "code": exc.code,
                        "message": exc.localized(locale),
                        "status": exc.status,
                        "details": exc.details,
                    },
                }
            )
    succeeded = sum(1 for r in results if r["ok"])
    return {"succeeded": succeeded, "failed": len(results) - succeeded, "results": results}
