"""Signing an evidence pack, and checking one (``shangliao chat verify-pack``).

The signature is an HMAC-SHA256, under the installation's signing key (the one that signs chat
checkpoints, ``Keyring.sign``), of the pack's shop, order and the SHA-256 of the PDF's exact bytes.
It travels beside the PDF as a small JSON file (a signature cannot be inside the bytes it signs);
both come zipped together as one download. Changing one byte of the PDF, or moving the signature
to another order's PDF, fails the check.

What it proves, and to whom: that the file is exactly one this installation made (the key file
never leaves the server). Only the key's holder can check it, so it convinces the shop and whoever
trusts the shop's server, not a stranger on its own; ``keys retire`` of the key that signed it makes
it unverifiable (keep retired key files if packs must stay checkable).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from typing import Any

import orjson

from shangliao.core import clock
from shangliao.core.crypto import Keyring
from shangliao.core.i18n import N_

FORMAT = "shangliao.evidence-pack"
VERSION = 1
# A pack to check is read whole: a real one is a few MB; a bigger file is no pack of ours.
MAX_PACK_BYTES = 200 * 1024 * 1024

VALID = N_("Valid: the PDF is exactly the evidence pack of order {number} (shop {shop}) signed at {at}.")
NOT_A_SIGNATURE = N_("This is not the signature file of a Shangliao evidence pack.")
CHANGED = N_("The PDF was changed after it was signed: its SHA-256 is not the one signed.")
FORGED = N_(
    "The signature is not valid: it was not made by this installation's keys "
    "(forged, altered, or made by a key no longer in the key ring)."
)
NOT_A_PACK = N_("This is not an evidence pack: a .zip holding a PDF and its .sig.json was expected.")


@dataclass(frozen=True)
class Pack:
    """A signed pack: the PDF and its signature document."""

    number: str
    pdf: bytes
    signature: dict[str, Any]

    @property
    def sha256(self) -> str:
        return self.signature["sha256"]

    @property
    def pdf_name(self) -> str:
        return f"evidence-{self.number}.pdf"

    @property
    def signature_name(self) -> str:
        return f"evidence-{self.number}.sig.json"

    def signature_bytes(self) -> bytes:
        return orjson.dumps(self.signature, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)

    def zipped(self) -> bytes:
        """The PDF and its signature as one .zip (the PDF stored as is: it is compressed already)."""
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr(self.pdf_name, self.pdf, compress_type=zipfile.ZIP_STORED)
            archive.writestr(self.signature_name, self.signature_bytes(), compress_type=zipfile.ZIP_DEFLATED)
        return out.getvalue()


def signed_message(shop_id: int, order_id: int, digest: bytes) -> bytes:
    """What the HMAC covers: which shop's pack of which order, and the PDF's digest."""
    return b"evidence-pack:%d:%d:" % (shop_id, order_id) + digest


def sign(keyring: Keyring, shop_id: int, order_id: int, number: str, data: bytes) -> Pack:
    digest = hashlib.sha256(data).digest()
    signature = {
        "format": FORMAT,
        "version": VERSION,
        "shop_id": shop_id,
        "order_id": order_id,
        "order_number": number,
        "sha256": digest.hex(),
        "signed_at": clock.now().isoformat(timespec="seconds"),
        "key_id": keyring.current.hex_id,
        "algorithm": "HMAC-SHA256",
        "signature": keyring.sign(signed_message(shop_id, order_id, digest)).hex(),
    }
    return Pack(number, data, signature)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str  # an N_ msgid, filled with ``params``
    params: dict[str, Any]


def verify(keyring: Keyring, data: bytes, signature: bytes) -> Verdict:
    """Whether ``data`` is exactly the PDF ``signature`` (a .sig.json's bytes) was made for."""
    try:
        doc = orjson.loads(signature)
        shop_id, order_id = int(doc["shop_id"]), int(doc["order_id"])
        signed_digest, mac = bytes.fromhex(doc["sha256"]), bytes.fromhex(doc["signature"])
        known = doc["format"] == FORMAT and doc["version"] == VERSION
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        known = False
    if not known:
        return Verdict(False, NOT_A_SIGNATURE, {})
    digest = hashlib.sha256(data).digest()
    if digest != signed_digest:
        return Verdict(False, CHANGED, {})
    if not keyring.signed(signed_message(shop_id, order_id, digest), mac):
        return Verdict(False, FORGED, {})
    return Verdict(
        True, VALID, {"number": doc.get("order_number", ""), "shop": shop_id, "at": doc.get("signed_at", "")}
    )


def unpack(archive: bytes) -> tuple[bytes, bytes] | None:
    """The PDF and the signature of a downloaded pack (.zip), or None when it is not one."""
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as z:
            infos = z.infolist()
            pdfs = [i for i in infos if i.filename.endswith(".pdf")]
            sigs = [i for i in infos if i.filename.endswith(".sig.json")]
            if len(infos) != 2 or len(pdfs) != 1 or len(sigs) != 1:
                return None
            if sum(i.file_size for i in infos) > MAX_PACK_BYTES:  # what it says it unpacks to
                return None
            return z.read(pdfs[0]), z.read(sigs[0])
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
        return None
