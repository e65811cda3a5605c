"""Building a PKCS#10 CSR as the registry expects one: CN = the username, and a
signature hash that matches the key (SPEC: Certificates)."""

from __future__ import annotations

from collections.abc import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from common.key_policy import CURVES


def build_csr(key, common_name: str | None, *, extra_subject: Iterable[x509.NameAttribute] = (),
              sans: Iterable[x509.GeneralName] = (),
              extensions: Iterable[tuple[x509.ExtensionType, bool]] = (),
              digest: hashes.HashAlgorithm | None = None) -> str:
    """The PEM text of a CSR for ``key``; ``common_name=None`` leaves the CN out.

    ``digest`` defaults to the hash that matches the key: SHA-384 for P-384,
    SHA-512 for P-521, SHA-256 otherwise, none for Ed25519 (which hashes itself).
    """
    attributes = [] if common_name is None else [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attributes + list(extra_subject)))
    sans = list(sans)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        digest = None
    elif digest is None:
        digest = CURVES[key.curve.name][1]() if isinstance(key, ec.EllipticCurvePrivateKey) else hashes.SHA256()
    return builder.sign(key, digest).public_bytes(serialization.Encoding.PEM).decode("ascii")
