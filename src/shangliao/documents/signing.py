"""Signing an evidence pack, and checking one (``shangliao chat verify-pack``).

The signature is an HMAC-SHA256, under the installation's signing key (the one that signs chat
checkpoints, ``Keyring.sign``), of every field of the signature file but the signature itself: the
shop, the order and its number, the SHA-256 of the PDF's exact bytes, when it was signed and by
which key (:func:`signed_message`). It travels beside the PDF as a small JSON file (a signature
cannot be inside the bytes it signs); both come zipped together as one download. Changing one
byte of the PDF, moving the signature to another order's PDF, or rewriting any field the verdict
names (a backdated ``signed_at``, another order number) fails the check.

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
VERSION = 2  # 1 signed only the shop, the order and the PDF's digest
SIGNED = "signature"  # the one field the signature does not cover: itself
ALGORITHM = "HMAC-SHA256"
DOMAIN = b"evidence-pack:"  # an HMAC of a pack is never one of a chat checkpoint's, under the same key
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


def signed_message(doc: dict[str, Any]) -> bytes:
    """What the HMAC covers: every field of the signature file but the signature, as canonical
    JSON (keys sorted, no spaces), after the domain. The checker rebuilds it from the file as read,
    so a field changed, added or taken away is a different message."""
    fields = {k: v for k, v in doc.items() if k != SIGNED}
    return DOMAIN + orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)


def sign(keyring: Keyring, shop_id: int, order_id: int, number: str, data: bytes) -> Pack:
    fields = {
        "format": FORMAT,
        "version": VERSION,
        "shop_id": shop_id,
        "order_id": order_id,
        "order_number": number,
        "sha256": hashlib.sha256(data).hexdigest(),
        "signed_at": clock.now().isoformat(timespec="seconds"),
        "key_id": keyring.current.hex_id,
        "algorithm": ALGORITHM,
    }
    return Pack(number, data, fields | {SIGNED: keyring.sign(signed_message(fields)).hex()})


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str  # an N_ msgid, filled with ``params``
    params: dict[str, Any]


# The fields a signature file holds, and their types: anything else is no file of ours.
FIELDS: dict[str, type] = {
    "format": str, "version": int, "shop_id": int, "order_id": int, "order_number": str, "sha256": str,
    "signed_at": str, "key_id": str, "algorithm": str, SIGNED: str,
}  # fmt: skip


def verify(keyring: Keyring, data: bytes, signature: bytes) -> Verdict:
    """Whether ``data`` is exactly the PDF ``signature`` (a .sig.json's bytes) was made for, and
    the file's fields (what the verdict says) exactly as signed."""
    doc = _signature_file(signature)
    if doc is None:
        return Verdict(False, NOT_A_SIGNATURE, {})
    if hashlib.sha256(data).hexdigest() != doc["sha256"]:
        return Verdict(False, CHANGED, {})
    signer = keyring.signer(signed_message(doc), bytes.fromhex(doc[SIGNED]))
    if signer is None or signer.hex_id != doc["key_id"]:
        return Verdict(False, FORGED, {})
    return Verdict(
        True, VALID, {"number": doc["order_number"], "shop": doc["shop_id"], "at": doc["signed_at"]}
    )


def _signature_file(signature: bytes) -> dict[str, Any] | None:
    """The signature file's fields, or None when it is not one this version writes (fields
    missing, of another type, or a signature that is not hex): only then is it checked at all."""
    try:
        doc = orjson.loads(signature)
        bytes.fromhex(doc[SIGNED])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    if not isinstance(doc, dict) or any(type(doc.get(k)) is not t for k, t in FIELDS.items()):
        return None
    if (doc["format"], doc["version"], doc["algorithm"]) != (FORMAT, VERSION, ALGORITHM):
        return None
    return doc


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
