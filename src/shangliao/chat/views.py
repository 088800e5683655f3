"""How a message looks to whoever reads it: over HTTP, and in a socket's events."""

from __future__ import annotations

from typing import Any


def message_out(m: Any, *, replayed: bool = False) -> dict[str, Any]:
    """A message as either side sees it: a recalled one keeps its place but shows nothing."""
    recalled = m.recalled_at is not None
    return {
        "id": m.id,
        "conversation_id": m.conversation_id,
        "seq": m.seq,
        "kind": m.kind,
        "sender_type": m.sender_type,
        "sender_id": m.sender_id,
        "client_id": m.client_id,
        "body": "" if recalled else m.body,
        "data": {} if recalled else m.data,
        "recalled": recalled,
        "created_at": m.created_at,
        "replayed": replayed,
    }
