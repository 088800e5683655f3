"""Which Chromium to launch and with which options: shared by the browser tests and
tools/screenshots.py, so both drive the same browser the same way (no pytest or app imports here)."""

from __future__ import annotations

import os
import shutil

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """``SHANGLIAO_CHROMIUM`` when set, else the Chromium on the PATH (Debian's), else None."""
    configured = os.environ.get("SHANGLIAO_CHROMIUM")
    if configured:
        return configured
    return shutil.which("chromium") or shutil.which("chromium-browser")
