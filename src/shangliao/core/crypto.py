"""PII at rest: AES-GCM encryption and keyed hashes for lookup (rule 12 of docs/architecture.md).

One master key (the data folder's 0600 key file, or ``SHANGLIAO_SECRET_KEY``) is stretched with
HKDF into independent sub-keys, so the key that encrypts phones is not the key that hashes them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shangliao.config import Settings

_VERSION = b"\x01"  # ciphertext format byte, so keys or algorithms can rotate later


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"shangliao:" + purpose).derive(master)


def parse_key_material(text: str) -> bytes:
    """Accept hex or base64; at least 128 bits, so a typo'd short key fails loudly."""
    text = text.strip()
    for decode in (bytes.fromhex, base64.b64decode):
        try:
            key = decode(text)
        except (ValueError, binascii.Error):
            continue
        if len(key) >= 16:
            return key
    raise ValueError("secret key must be at least 16 bytes, hex or base64 encoded")


@dataclass(frozen=True)
class Keyring:
    encryption_key: bytes
    lookup_key: bytes
    signing_key: bytes

    @classmethod
    def from_master(cls, master: bytes) -> Keyring:
        return cls(_derive(master, b"pii-aes-gcm"), _derive(master, b"pii-lookup"), _derive(master, b"sign"))

    @classmethod
    def from_settings(cls, settings: Settings) -> Keyring:
        if settings.secret_key:
            return cls.from_master(parse_key_material(settings.secret_key))
        return cls.from_master(parse_key_material(settings.key_file.read_text()))

    def encrypt(self, plaintext: bytes, context: bytes = b"") -> bytes:
        """``context`` (e.g. a table name) is bound as associated data: a blob moved elsewhere fails."""
        nonce = os.urandom(12)
        return _VERSION + nonce + AESGCM(self.encryption_key).encrypt(nonce, plaintext, context)

    def decrypt(self, blob: bytes, context: bytes = b"") -> bytes:
        if not blob or blob[:1] != _VERSION:
            raise ValueError("unknown ciphertext format")
        return AESGCM(self.encryption_key).decrypt(blob[1:13], blob[13:], context)

    def encrypt_json(self, value: Any, context: bytes = b"") -> bytes:
        return self.encrypt(orjson.dumps(value), context)

    def decrypt_json(self, blob: bytes, context: bytes = b"") -> Any:
        # orjson: a list page opens 20 to 100 of these.
        return orjson.loads(self.decrypt(blob, context))

    def lookup_hash(self, value: str, purpose: str) -> bytes:
        """Deterministic keyed hash for equality search (full phone, last four digits)."""
        return hmac.new(self.lookup_key, f"{purpose}:{value}".encode(), hashlib.sha256).digest()

    def sign(self, data: bytes) -> bytes:
        return hmac.new(self.signing_key, data, hashlib.sha256).digest()
