"""argon2id password hashing with the library's current recommended parameters."""

from __future__ import annotations

import math
import os
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shangliao.core.errors import TooManyRequests
from shangliao.core.i18n import N_

_hasher = PasswordHasher()

# Verifying against this when the username is unknown keeps response time from revealing it.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

MIN_PASSWORD_LENGTH = 8

# One check takes argon2's 64 MiB and tens of milliseconds of a whole core: forty at once took a
# server from 191 MiB to 1.2 GiB and starved every other request. One check per core at a time
# is as fast as they can go anyway; a few more wait here, briefly, then are told to come back.
# Waiting holds a worker thread, so beyond that short queue a sign-in is refused at once: a flood
# of sign-ins must not take every thread the other routes run on.
CHECKS_AT_ONCE = max(1, os.cpu_count() or 1)
MAX_WAITING = 2 * CHECKS_AT_ONCE
WAIT_SECONDS = 3.0
_checks = threading.BoundedSemaphore(CHECKS_AT_ONCE)
_admitted = 0  # checking or waiting to
_admission = threading.Lock()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; call it holding no database connection (it is slow)."""
    global _admitted
    with _admission:
        admitted = _admitted < CHECKS_AT_ONCE + MAX_WAITING
        _admitted += admitted
    if not admitted:
        raise _busy()
    try:
        if not _checks.acquire(timeout=WAIT_SECONDS):
            raise _busy()
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False
        finally:
            _checks.release()
    finally:
        with _admission:
            _admitted -= 1


def _busy() -> TooManyRequests:
    return TooManyRequests(
        "auth.busy",
        N_("Many people are signing in right now. Try again in a few seconds."),
        retry_after=max(1, math.ceil(WAIT_SECONDS)),
    )
