"""The access log keeps the path and drops the query string (rule 12 of docs/architecture.md).

Shangliao's own pages and API put no personal data in URLs (searches by phone are POSTs), but a
URL is whatever the sender typed: a console search box submitted with GET, a bookmarked
``/orders?q=13912345678``, an integrator's ``GET /api/v1/orders?q=…`` that is refused with a 422
still reaches the access log first. Uvicorn writes the full path with its query; this filter cuts
the query off before the line is formatted, so no handler, file or log shipper ever sees it. The
path stays (ids only), so a request can still be traced.

One kind of path carries a secret itself: an invitation link, ``/join/<secret>`` (auth/invitations.py),
whose secret lets whoever reads it join the shop. Its last segment is replaced by ``[redacted]``.
"""

from __future__ import annotations

import logging

from shangliao.auth.invitations import INVITE_PATH

ACCESS_LOGGER = "uvicorn.access"
REDACTED = "?…"
SECRET_REDACTED = "[redacted]"
# Paths whose remainder is a secret (the log keeps the prefix, so the request can still be told).
SECRET_PATHS = (INVITE_PATH,)


def loggable_path(target: str) -> str:
    """The request target as the access log may keep it: no query string, no secret in the path."""
    path, query, _ = target.partition("?")
    for prefix in SECRET_PATHS:
        if path.startswith(prefix) and len(path) > len(prefix):
            path = prefix + SECRET_REDACTED
    return path + (REDACTED if query else "")


class DropQueryString(logging.Filter):
    """Uvicorn's access record is ``'%s - "%s %s HTTP/%s" %d'`` with (client, method, path and
    query, http version, status): the third argument loses everything from its ``?``, and an
    invitation link's secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], loggable_path(args[2]), args[3], args[4])
        return True


def install() -> None:
    """Add the filter to Uvicorn's access logger once per process (every app built adds it)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, DropQueryString) for f in logger.filters):
        logger.addFilter(DropQueryString())
