"""Where the key ring lives, and changing it: ``shangliao keys new`` and ``keys retire``.

Two sources, as before, now holding several keys, the current one first:

- the data folder's key file (0600): one key per line (hex or base64), ``#`` lines are comments.
  A file of one line (every installation before key ids) is a ring of one key;
- ``SHANGLIAO_SECRET_KEY`` (the current key) with ``SHANGLIAO_OLD_SECRET_KEYS`` (earlier keys,
  comma-separated): when the key is set in the environment the key file is not read, and the
  operator changes the variables (Shangliao cannot).

The file is replaced whole (written beside it, synced, renamed), so a crash leaves the old ring
or the new one, never half a file.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from shangliao.config import Settings
from shangliao.core.crypto import Key, Keyring, key_id, parse_key_material
from shangliao.core.i18n import N_

SECRET_ENV = "SHANGLIAO_SECRET_KEY"
OLD_SECRETS_ENV = "SHANGLIAO_OLD_SECRET_KEYS"
_HEADER = (
    "# Shangliao key ring. The first key is current (new values use it); the others still open\n"
    "# values written before a rotation. Back this file up with the database; never edit it by hand\n"
    "# (use `shangliao keys new` and `shangliao keys retire`).\n"
)


class KeyringError(Exception):
    """A change to the ring that cannot be made (the message says why; translated by the CLI)."""

    def __init__(self, message: str, **params: object) -> None:
        self.message, self.params = message, params
        super().__init__(message.format(**params))


@dataclass(frozen=True)
class RingSource:
    """Where the ring was read from, in words an operator can act on."""

    from_env: bool
    key_file: Path

    def describe(self) -> str:
        if self.from_env:
            return f"{SECRET_ENV} / {OLD_SECRETS_ENV}"
        return str(self.key_file)


def source(settings: Settings) -> RingSource:
    return RingSource(bool(settings.secret_key), settings.key_file)


def _file_masters(text: str) -> list[bytes]:
    return [
        parse_key_material(line)
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def masters(settings: Settings) -> list[bytes]:
    """The ring's master keys, current first."""
    if settings.secret_key:
        old = [part for part in (settings.old_secret_keys or "").split(",") if part.strip()]
        return [parse_key_material(settings.secret_key), *(parse_key_material(o) for o in old)]
    found = _file_masters(settings.key_file.read_text())
    if not found:
        raise ValueError(f"{settings.key_file} holds no key")
    return found


def load_keyring(settings: Settings) -> Keyring:
    def reload() -> list[Key]:
        return [Key.from_master(m) for m in masters(settings)]

    return Keyring(reload(), reload=reload)


def new_key_material() -> str:
    return secrets.token_hex(32)


def _write_ring(path: Path, keys: list[bytes], added: dict[str, str]) -> None:
    lines = [_HEADER]
    for master in keys:
        kid = key_id(master)
        note = f" (added {added[kid]})" if kid in added else ""
        lines.append(f"# key {kid}{note}\n{master.hex()}\n")
    tmp = path.with_name(path.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("".join(lines))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a power cut
    finally:
        os.close(dir_fd)


def _added_notes(path: Path) -> dict[str, str]:
    """``{key id: when}`` from the file's comments, kept when the file is rewritten."""
    notes: dict[str, str] = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[:2] == ["#", "key"] and parts[3] == "(added":
            notes[parts[2]] = " ".join(parts[4:]).rstrip(")")
    return notes


def _require_file(settings: Settings, message: str, **params: object) -> None:
    if settings.secret_key:
        raise KeyringError(message, env=SECRET_ENV, old=OLD_SECRETS_ENV, **params)


def add_key(settings: Settings) -> str:
    """Make a new current key in the key file, keeping the others; returns its id."""
    _require_file(
        settings,
        N_(
            "The keys come from {env} here, which Shangliao cannot change: set a new key (for example "
            "{example}) as {env} and add the current one to {old} (comma-separated), then restart."
        ),
        example=new_key_material(),
    )
    existing = masters(settings)
    notes = _added_notes(settings.key_file)
    fresh = bytes.fromhex(new_key_material())
    kid = key_id(fresh)
    notes[kid] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    _write_ring(settings.key_file, [fresh, *existing], notes)
    return kid


def remove_key(settings: Settings, kid: str) -> None:
    """Drop a key that is not current from the key file (the caller checked nothing uses it)."""
    _require_file(
        settings,
        N_("The keys come from {env} and {old} here: remove key {id} from {old}, then restart."),
        id=kid,
    )
    existing = masters(settings)
    ids = [key_id(m) for m in existing]
    if kid not in ids:
        raise KeyringError(N_("There is no key {id} in the key ring ({ids})."), id=kid, ids=", ".join(ids))
    if ids[0] == kid:
        raise KeyringError(
            N_("Key {id} is the current key; make a new one first (`shangliao keys new`)."), id=kid
        )
    _write_ring(settings.key_file, [m for m in existing if key_id(m) != kid], _added_notes(settings.key_file))
