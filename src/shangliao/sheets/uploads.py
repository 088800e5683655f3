"""An uploaded sheet kept between its preview and its import: the member previews, reads what
would happen, then confirms by the upload's token, and the very same file is read again (nothing
that was not previewed is imported). Kept an hour under ``<data dir>/imports/<shop>/``."""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path

from shangliao.core.errors import NotFound
from shangliao.core.i18n import N_
from shangliao.runtime import Runtime
from shangliao.sheets.guard import Checked, check

KEEP_SECONDS = 3600
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def folder(rt: Runtime, shop_id: int) -> Path:
    return rt.settings.data_dir / "imports" / str(int(shop_id))


def keep(rt: Runtime, shop_id: int, temp: Path) -> tuple[str, Path, Checked]:
    """Check the received file (guard.check) and keep it under a new token."""
    checked = check(temp)
    token = secrets.token_hex(16)
    path = folder(rt, shop_id) / f"{token}.{checked.kind}"
    path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(temp, path)
    return token, path, checked


def find(rt: Runtime, shop_id: int, token: str) -> tuple[Path, Checked]:
    """A kept upload of this shop's (another shop's token, or an expired one, is not found)."""
    if _TOKEN.match(token):
        for kind in ("xlsx", "csv"):
            path = folder(rt, shop_id) / f"{token}.{kind}"
            if path.exists() and time.time() - path.stat().st_mtime < KEEP_SECONDS:
                return path, check(path)
    raise NotFound("sheet.upload_gone", N_("This upload has expired: upload the file again."))


def forget(path: Path) -> None:
    path.unlink(missing_ok=True)


def expire(rt: Runtime) -> int:
    """Remove kept uploads older than an hour, in every shop's folder."""
    root = rt.settings.data_dir / "imports"
    if not root.exists():
        return 0
    old = [p for p in root.glob("*/*") if time.time() - p.stat().st_mtime >= KEEP_SECONDS]
    for path in old:
        path.unlink(missing_ok=True)
    return len(old)
