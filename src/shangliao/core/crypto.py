"""PII at rest: AES-GCM encryption and keyed hashes for lookup (rule 12 of docs/architecture.md).

A master key is stretched with HKDF into independent sub-keys, so the key that encrypts phones is
not the key that hashes them. A key ring holds several master keys, the current one first
(``core/keys.py`` reads them from the data folder's key file or ``SHANGLIAO_SECRET_KEY`` and
``SHANGLIAO_OLD_SECRET_KEYS``): every ciphertext names the key that made it, so values written
under an older key stay readable while ``shangliao keys rotate`` moves them to the current one.

Ciphertext formats (the first byte says which):

- ``\\x02`` + key id (4 bytes, from the master key by HKDF) + nonce (12) + AES-GCM: every new value;
- ``\\x01`` + nonce (12) + AES-GCM: written before key ids existed, by the installation's first
  key; still read (each key of the ring is tried) until a rotation rewrites it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

if TYPE_CHECKING:
    from shangliao.config import Settings

LEGACY = b"\x01"  # nonce + AES-GCM, no key id (the installation's first key)
VERSION = b"\x02"  # key id + nonce + AES-GCM
KEY_ID_BYTES = 4
_NONCE = 12


def _derive(master: bytes, purpose: bytes, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=b"shangliao:" + purpose).derive(
        master
    )


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


class KeyMissing(LookupError):
    """A value names a key the ring does not hold (``key_id`` hex; ``None``: a pre-key-id value
    none of the ring's keys opens)."""

    def __init__(self, key_id: str | None) -> None:
        self.key_id = key_id
        super().__init__(f"encryption key {key_id or '(from before key ids)'} is not in the key ring")


@dataclass(frozen=True)
class Key:
    """One master key's sub-keys and its id (what a ciphertext names; not secret)."""

    id: bytes
    encryption_key: bytes
    lookup_key: bytes
    signing_key: bytes

    @classmethod
    def from_master(cls, master: bytes) -> Key:
        return cls(
            _derive(master, b"key-id", KEY_ID_BYTES),
            _derive(master, b"pii-aes-gcm"),
            _derive(master, b"pii-lookup"),
            _derive(master, b"sign"),
        )

    @property
    def hex_id(self) -> str:
        return self.id.hex()


def key_id(master: bytes) -> str:
    """The id (hex) a master key's ciphertexts carry."""
    return _derive(master, b"key-id", KEY_ID_BYTES).hex()


def blob_key_id(blob: bytes) -> str | None:
    """The key id (hex) a ciphertext names; ``None`` for a pre-key-id (version 1) value."""
    if blob[:1] == VERSION:
        return blob[1 : 1 + KEY_ID_BYTES].hex()
    if blob[:1] == LEGACY:
        return None
    raise ValueError("unknown ciphertext format")


class Keyring:
    """The keys values may be under, current first. New values use the current key; any value
    under a key of the ring reads. ``reload`` (the key source) is asked again when a value names
    a key the ring lacks: a server started before ``shangliao keys new`` then reads what a
    rotation wrote instead of failing, and encrypts with the new key from then on."""

    def __init__(self, keys: Sequence[Key], *, reload: Callable[[], Sequence[Key]] | None = None) -> None:
        if not keys:
            raise ValueError("a key ring needs at least one key")
        self._reload = reload
        self._set(keys)

    def _set(self, keys: Sequence[Key]) -> None:
        # One attribute swapped whole: readers on other threads see the old ring or the new one.
        self._state = (tuple(keys), {k.id: k for k in keys})

    @classmethod
    def from_master(cls, master: bytes) -> Keyring:
        return cls([Key.from_master(master)])

    @classmethod
    def from_masters(cls, masters: Sequence[bytes]) -> Keyring:
        return cls([Key.from_master(m) for m in masters])

    @classmethod
    def from_settings(cls, settings: Settings) -> Keyring:
        from shangliao.core import keys

        return keys.load_keyring(settings)

    # --- the ring -------------------------------------------------------------------------------

    @property
    def keys(self) -> tuple[Key, ...]:
        return self._state[0]

    @property
    def current(self) -> Key:
        return self._state[0][0]

    @property
    def ids(self) -> list[str]:
        return [k.hex_id for k in self.keys]

    def key(self, key_id: bytes) -> Key:
        found = self._state[1].get(key_id)
        if found is None and self._reload is not None:
            self._set(self._reload())
            found = self._state[1].get(key_id)
        if found is None:
            raise KeyMissing(key_id.hex())
        return found

    # --- encryption -----------------------------------------------------------------------------

    def encrypt(self, plaintext: bytes, context: bytes = b"") -> bytes:
        """``context`` (e.g. a table name) is bound as associated data: a blob moved elsewhere fails."""
        key = self.current
        nonce = os.urandom(_NONCE)
        return VERSION + key.id + nonce + AESGCM(key.encryption_key).encrypt(nonce, plaintext, context)

    def decrypt(self, blob: bytes, context: bytes = b"") -> bytes:
        version = blob[:1]
        if version == VERSION:
            key = self.key(blob[1 : 1 + KEY_ID_BYTES])
            start = 1 + KEY_ID_BYTES
            return AESGCM(key.encryption_key).decrypt(
                blob[start : start + _NONCE], blob[start + _NONCE :], context
            )
        if version == LEGACY:
            return self._decrypt_legacy(blob, context)
        raise ValueError("unknown ciphertext format")

    def _decrypt_legacy(self, blob: bytes, context: bytes) -> bytes:
        # Made by the installation's first key, which is usually the oldest in the ring: try it first.
        for key in reversed(self.keys):
            try:
                return AESGCM(key.encryption_key).decrypt(blob[1:13], blob[13:], context)
            except InvalidTag:
                continue
        raise KeyMissing(None)

    def opens(self, blob: bytes, context: bytes = b"") -> bool:
        """Whether a key of the ring decrypts ``blob`` (bound to ``context``)."""
        try:
            self.decrypt(blob, context)
        except (KeyMissing, InvalidTag):
            return False
        return True

    def is_current(self, blob: bytes) -> bool:
        return blob[:1] == VERSION and blob[1 : 1 + KEY_ID_BYTES] == self.current.id

    def reencrypt(self, blob: bytes, context: bytes = b"") -> bytes:
        """The same value under the current key (unchanged when it already is)."""
        return blob if self.is_current(blob) else self.encrypt(self.decrypt(blob, context), context)

    def encrypt_json(self, value: Any, context: bytes = b"") -> bytes:
        return self.encrypt(orjson.dumps(value), context)

    def decrypt_json(self, blob: bytes, context: bytes = b"") -> Any:
        # orjson: a list page opens 20 to 100 of these.
        return orjson.loads(self.decrypt(blob, context))

    # --- keyed hashes and signatures ------------------------------------------------------------

    def lookup_hash(self, value: str, purpose: str, key: Key | None = None) -> bytes:
        """Deterministic keyed hash for equality search (full phone, last four digits), under the
        current key unless ``key`` says otherwise."""
        k = key or self.current
        return hmac.new(k.lookup_key, f"{purpose}:{value}".encode(), hashlib.sha256).digest()

    def lookup_hashes(self, value: str, purpose: str) -> tuple[bytes, ...]:
        """The hash under every key of the ring, current first: what a search looks for, since a
        row not yet rotated still carries its old key's hash."""
        return tuple(self.lookup_hash(value, purpose, k) for k in self.keys)

    def sign(self, data: bytes) -> bytes:
        return hmac.new(self.current.signing_key, data, hashlib.sha256).digest()

    def signer(self, data: bytes, signature: bytes) -> Key | None:
        """The key of the ring that made ``signature`` over ``data``, or ``None`` (forged, or
        made by a key no longer in the ring)."""
        for key in self.keys:
            if hmac.compare_digest(hmac.new(key.signing_key, data, hashlib.sha256).digest(), signature):
                return key
        return None

    def signed(self, data: bytes, signature: bytes) -> bool:
        return self.signer(data, signature) is not None
