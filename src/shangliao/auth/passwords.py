"""argon2id password hashing with the library's current recommended parameters."""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

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
# The checks themselves run at a lower CPU priority (a higher nice value) on threads of their own,
# argon2's helper threads inheriting it: sign-in floods, right or wrong, then take the CPU that
# serving leaves idle rather than slowing every order. A sign-in waits longer on a busy server,
# which is the cheaper side to slow. Linux sets the nice value per thread; elsewhere it is skipped.
CHECK_NICENESS = 19
_admitted = 0  # checking or waiting to
_admission = threading.Lock()


def _lower_priority() -> None:
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), CHECK_NICENESS)


_checkers = ThreadPoolExecutor(CHECKS_AT_ONCE, "password-check", initializer=_lower_priority)


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
            # Holding a slot, so a checker thread is free: this waits for the check, not in a queue.
            return _checkers.submit(_check, password_hash, password).result()
        finally:
            _checks.release()
    finally:
        with _admission:
            _admitted -= 1


def _check(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def _busy() -> TooManyRequests:
    return TooManyRequests(
        "auth.busy",
        N_("Many people are signing in right now. Try again in a few seconds."),
        retry_after=max(1, math.ceil(WAIT_SECONDS)),
    )
