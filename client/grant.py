"""The registry's ``201``: check what it issued, then write it beside the key."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding

from client.errors import EnrollError, Untrusted
from common.files import PUBLIC, write_atomically
from common.fingerprints import certificate_fingerprint
from common.visible import make_visible
from client.identity import Identity, public_der
from client.trust import TrustedCa

CA_FILE = "ca.crt"


def save_grant(granted: dict, identity: Identity, trusted: TrustedCa, out: Path) -> list[Path]:
    """Write ``NAME.crt`` and ``ca.crt`` into ``out`` (the key is there already);
    the paths of the three files. Nothing is written unless the certificate is for
    this key and chains to the CA trusted from the start."""
    certificate, ca = checked_certificate(granted, identity.key.public_key(), trusted)
    certificate_path, ca_path = out / f"{identity.username}.crt", out / CA_FILE
    write_atomically(certificate_path, certificate.public_bytes(Encoding.PEM), PUBLIC)
    write_atomically(ca_path, ca.public_bytes(Encoding.PEM), PUBLIC)
    return [identity.key_path, certificate_path, ca_path]


def checked_certificate(granted: dict, public_key, trusted: TrustedCa) -> tuple[x509.Certificate, x509.Certificate]:
    """The issued certificate and the CA from a ``201`` body, once the certificate is
    known to be for ``public_key`` and signed by the CA trusted from the start."""
    certificate = _certificate(granted, "certificate")
    ca = _certificate(granted, "caCertificate")
    if certificate_fingerprint(ca) != trusted.fingerprint:
        raise Untrusted("the registry answered with a CA other than the one trusted")
    try:
        certificate.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        raise Untrusted("the issued certificate is not signed by the registry's CA") from None
    if public_der(certificate.public_key()) != public_der(public_key):
        raise EnrollError("the issued certificate is for another key than this device's")
    return certificate, ca


def describe_grant(granted: dict) -> str:
    """"roles a, b; 2 permissions", printable whatever the registry sent."""
    roles = granted.get("roles") if isinstance(granted.get("roles"), list) else []
    permissions = granted.get("permissions") if isinstance(granted.get("permissions"), list) else []
    names = ", ".join(make_visible(role) for role in roles if isinstance(role, str)) or "none"
    return f"roles {names}; {len(permissions)} permission{'' if len(permissions) == 1 else 's'}"


def _certificate(granted: dict, field: str) -> x509.Certificate:
    pem = granted.get(field)
    if not isinstance(pem, str):
        raise EnrollError(f"the registry granted the request but sent no {field}")
    try:
        certificates = x509.load_pem_x509_certificates(pem.encode("ascii"))
    except (UnicodeEncodeError, ValueError):
        raise EnrollError(f"the registry's {field} is not a PEM certificate") from None
    if len(certificates) != 1:
        raise EnrollError(f"the registry's {field} holds {len(certificates)} certificates, not one")
    return certificates[0]

