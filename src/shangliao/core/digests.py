"""A stored file's SHA-256, read in blocks so a large upload never sits whole in memory.

Product photos record it when they are encoded and ``shangliao chat verify`` compares an
attachment's file against the digest its message recorded: both must hash the same way.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()
