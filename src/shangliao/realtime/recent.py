"""Messages this process has just committed, kept a moment for its own sockets.

The hub shows a new message to the sockets that may see it; the message was written here a
moment ago, so reading it back from the database (a thread hop and a query per batch) only adds
latency. ``do_send`` leaves each committed message here (an after-commit hook: a rolled-back
one never arrives); the hub takes it from here when it can and reads the database otherwise (a
message sent through another process, or one already pushed out of this small window).

One window per database (keyed by its writer engine): two databases in one process (the test
suite runs SQLite and PostgreSQL side by side) number their messages each from 1.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from typing import Any

from sqlalchemy import Engine

KEPT = 4096


class Window:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: OrderedDict[int, tuple[Any, int, int | None]] = OrderedDict()

    def remember(self, sent: Any, customer_id: int, assignee_id: int | None = None) -> None:
        """From the committing thread: ``sent`` (a ``service.Sent``) is in the database now; its
        conversation's assignee decides which limited members' sockets are shown it."""
        with self._lock:
            self._messages[sent.id] = (sent, customer_id, assignee_id)
            if len(self._messages) > KEPT:
                self._messages.popitem(last=False)

    def look_up(self, message_id: int) -> tuple[Any, int, int | None] | None:
        """``(sent, customer_id, assignee_id)`` of a message committed here lately, else None."""
        with self._lock:
            return self._messages.get(message_id)


_windows: weakref.WeakKeyDictionary[Engine, Window] = weakref.WeakKeyDictionary()
_windows_lock = threading.Lock()


def window(writer: Engine) -> Window:
    """The window of the database whose writer engine this is."""
    with _windows_lock:
        found = _windows.get(writer)
        if found is None:
            found = _windows[writer] = Window()
        return found
