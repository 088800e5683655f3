"""The last signed generation of each shop's list of conversations, kept beside the key file.

The list row (``ChainManifest``) lives in the database, so whoever can write to the database can
also put back an older, validly signed list, one that still names what they deleted since, or
delete the row altogether. Its signature cannot tell a stale list from the current one; a record
kept outside the database can. ``chat checkpoint`` writes it, ``chat verify`` compares with it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import orjson

from shangliao.core.errors import ShangliaoError
from shangliao.core.i18n import N_

FILE_NAME = "chain-generations.json"


def path_in(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def read(path: Path | None) -> dict[int, int]:
    """``{shop id: generation}``; nothing recorded (no file, or no path given) is an empty dict.

    A file that is there and cannot be read raises: silently treating it as empty would turn
    off the very check it exists for."""
    if path is None or not path.exists():
        return {}
    try:
        return {int(shop): int(generation) for shop, generation in orjson.loads(path.read_bytes()).items()}
    except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError) as exc:
        raise ShangliaoError(
            "chat.generations_unreadable",
            N_("{path} cannot be read: restore it from the backup of the data folder."),
            http_status=500,
            path=str(path),
        ) from exc


def record(path: Path, shop_id: int, generation: int) -> None:
    """Remember ``generation`` for the shop (never lowering what is recorded: a slower run that
    signed an earlier generation must not undo a later one), replacing the file atomically with
    owner-only permissions, so a crash leaves the old file or the new one, never half of one."""
    recorded = read(path)
    if recorded.get(shop_id, 0) >= generation:
        return
    recorded[shop_id] = generation
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a leftover temporary file keeps its old mode through O_TRUNC
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(orjson.dumps({str(k): v for k, v in sorted(recorded.items())}))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    # The rename itself is durable only once the folder is synced.
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
