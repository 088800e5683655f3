"""Text messages to customers' phones, through whatever provider the operator configures.

Nothing is sent by default (``SHANGLIAO_SMS_GATEWAY`` empty): the shop page then offers no codes
and a device's claim waits for staff. A provider is a class with ``send(phone, text)``; the one
that ships, ``file:<path>``, appends each message to a local file instead of calling anyone, for
tests and the demo. A real provider (Aliyun, Tencent Cloud …) is added here the same way.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Protocol

from shangliao.core import clock
from shangliao.core.errors import Conflict, ShangliaoError
from shangliao.core.i18n import N_


class SmsGateway(Protocol):
    def send(self, phone: str, text: str) -> None:
        """Deliver ``text`` to the mainland mobile ``phone``; raise if the provider refused it."""


class FileGateway:
    """A fake provider: one JSON line per message in a local file (it holds phone numbers in the
    clear, like a provider's outbox: keep it beside the database, not in a shared folder)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send(self, phone: str, text: str) -> None:
        line = json.dumps({"phone": phone, "text": text, "at": clock.now().isoformat()}, ensure_ascii=False)
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")


def gateway_from(setting: str) -> SmsGateway | None:
    """The provider a setting names; None when it is empty."""
    setting = setting.strip()
    if not setting:
        return None
    if setting.startswith("file:"):
        return FileGateway(Path(setting.removeprefix("file:")))
    # A typo must not silently turn codes off: ``create_app`` calls this, so it fails at start-up.
    raise ValueError(
        f"SHANGLIAO_SMS_GATEWAY: unknown SMS gateway {setting.split(':', 1)[0]!r} (expected file:<path>)"
    )


def sms_unavailable() -> ShangliaoError:
    """The provider did not take a code (down, refused): nothing the caller did wrong, ask later."""
    return ShangliaoError(
        "sms.unavailable",
        N_("Text messages cannot be sent right now. Try again in a few minutes."),
        http_status=503,
    )


def require_gateway(setting: str) -> SmsGateway:
    gateway = gateway_from(setting)
    if gateway is None:
        raise Conflict(
            "sms.not_configured",
            N_("This shop does not send codes by text message; the shop will confirm it is you."),
        )
    return gateway
