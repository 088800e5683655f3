"""Messages this process has just committed, kept a moment for its own sockets.

The hub shows a new message to the sockets that may see it; the message was written here a
moment ago, so reading it back from the database (a thread hop and a query per batch) only adds
latency. ``do_send`` leaves each committed message here (an after-commit hook: a rolled-back
one never arrives); the hub takes it from here when it can and reads the database otherwise (a
message sent through another process, or one already pushed out of this small window).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

KEPT = 4096

_lock = threading.Lock()
_messages: OrderedDict[int, tuple[Any, int]] = OrderedDict()


def remember(sent: Any, customer_id: int) -> None:
    """From the committing thread: ``sent`` (a ``service.Sent``) is in the database now."""
    with _lock:
        _messages[sent.id] = (sent, customer_id)
        if len(_messages) > KEPT:
            _messages.popitem(last=False)


def look_up(message_id: int) -> tuple[Any, int] | None:
    """``(sent, customer_id)`` of a message committed here lately, else None."""
    with _lock:
        return _messages.get(message_id)
