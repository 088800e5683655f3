"""Reading the RSA keys a merchant pastes: WeChat Pay platform certificates and public keys, the
merchant's private key, Alipay's public key and the app's private key.

Merchants copy keys from the providers' consoles in several forms: a PEM block, a certificate, or
(Alipay) the bare base64 text without the ``-----BEGIN`` lines. Each is parsed here with
``cryptography`` and stored in one normal form (SubjectPublicKeyInfo / PKCS#8 PEM), so the
notification code reads one shape. Anything that does not parse is an :class:`Invalid` (422) naming
the field, never a 500: the input is bounded in length by the schema before it gets here.
"""

from __future__ import annotations

import base64
import binascii

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shangliao.core.errors import Invalid
from shangliao.core.i18n import N_

# Smaller RSA keys are no longer safe, and neither provider issues them.
MIN_RSA_BITS = 2048
# What cryptography raises for bytes that are not the key it was asked for.
_UNREADABLE = (ValueError, TypeError, UnsupportedAlgorithm, binascii.Error, IndexError)


def _bad(code: str, message: str, field: str) -> Invalid:
    return Invalid(code, message, details={"field": field}, field=field)


def _der(text: str) -> bytes | None:
    """The bytes of a key pasted as bare base64 (no PEM lines), or None when it is PEM."""
    if "-----BEGIN" in text:
        return None
    return base64.b64decode("".join(text.split()), validate=True)


def _spki(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def _strong(key: object) -> bool:
    return isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey) and key.key_size >= MIN_RSA_BITS


def read_public_key(text: str, field: str) -> tuple[str | None, str]:
    """``(certificate serial or None, public key PEM)`` from an RSA public key or an X.509
    certificate (a WeChat Pay platform certificate: its serial is the ``Wechatpay-Serial`` that
    names it, in upper-case hex as WeChat Pay writes it)."""
    refused = _bad(
        "payment_method.bad_public_key",
        N_("This is not an RSA public key or certificate ({field}). Paste the whole PEM text."),
        field,
    )
    serial = None
    try:
        der = _der(text)
        if "CERTIFICATE" in text and der is None:
            cert = x509.load_pem_x509_certificate(text.encode("ascii"))
            key, serial = cert.public_key(), format(cert.serial_number, "X")
        elif der is None:
            key = serialization.load_pem_public_key(text.encode("ascii"))
        else:
            try:
                key = serialization.load_der_public_key(der)
            except _UNREADABLE:
                cert = x509.load_der_x509_certificate(der)
                key, serial = cert.public_key(), format(cert.serial_number, "X")
    except (*_UNREADABLE, UnicodeEncodeError):
        raise refused from None
    if not _strong(key):
        raise refused
    return serial, _spki(key)  # type: ignore[arg-type]


def read_private_key(text: str, field: str) -> str:
    """An unencrypted RSA private key (PKCS#1 or PKCS#8, PEM or bare base64) as PKCS#8 PEM."""
    refused = _bad(
        "payment_method.bad_private_key",
        N_("This is not an unencrypted RSA private key ({field}). Paste the whole PEM text."),
        field,
    )
    try:
        der = _der(text)
        if der is None:
            key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        else:
            key = serialization.load_der_private_key(der, password=None)
    except (*_UNREADABLE, UnicodeEncodeError):
        raise refused from None
    if not _strong(key):
        raise refused
    return key.private_bytes(  # type: ignore[union-attr]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
