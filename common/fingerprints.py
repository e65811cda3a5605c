"""SHA-256 fingerprints as the administrator and the device owner compare them."""

from __future__ import annotations

import hashlib
import re

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

_HEX64 = re.compile(r"[0-9a-f]{64}")


def normalize_fingerprint(text: str) -> str:
    """Hex with or without colons or spaces, any case -> 64 lowercase hex digits; ValueError otherwise."""
    fingerprint = re.sub(r"[\s:]", "", text).lower()
    if not _HEX64.fullmatch(fingerprint):
        raise ValueError("a fingerprint is 64 hex digits (SHA-256), with or without colons")
    return fingerprint


def key_fingerprint(public_key) -> str:
    """SHA-256 over the DER SubjectPublicKeyInfo, lowercase hex (SPEC: Certificates).

    The same figure comes from stock OpenSSL:
    ``openssl pkey -in NAME.key -pubout -outform DER | openssl dgst -sha256``
    """
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def certificate_fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 over the certificate's DER, lowercase hex."""
    return certificate.fingerprint(hashes.SHA256()).hex()
