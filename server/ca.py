"""The registry's own certificate authority, in the manner of trustme.

A small public surface: load or create the CA in the data folder, issue a
client certificate from a checked CSR, keep the HTTPS server's certificate
current. Every certificate comes from one builder that sets the common fields;
each extension is written out with the reason for it.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from common.fingerprints import certificate_fingerprint
from common.files import OWNER_ONLY, make_owner_only, read_secret, write_atomically
from server.csr import SubjectAltName

__all__ = ["CaError", "CertificateAuthority", "IssuancePlan"]

log = logging.getLogger(__name__)

CA_KEY_FILE = "ca.key"
CA_CERT_FILE = "ca.crt"
SERVER_KEY_FILE = "server.key"
SERVER_CERT_FILE = "server.crt"

CA_VALIDITY = timedelta(days=10 * 365)
CLIENT_VALIDITY = timedelta(days=365)
SERVER_VALIDITY = timedelta(days=365)
SERVER_RENEW_BEFORE = timedelta(days=30)
# Clocks on a plant network drift; a certificate that is "not yet valid" for a
# device a minute behind is a support call.
BACKDATE = timedelta(minutes=5)
MAX_KEY_FILE_BYTES = 64 * 1024


class CaError(Exception):
    """The CA's files are unusable; the message says why in one line."""


@dataclass(frozen=True)
class IssuancePlan:
    """What a grant will put in the client certificate, shown before it is issued."""

    common_name: str
    not_before: datetime
    not_after: datetime
    key_usage: tuple[str, ...]
    extended_key_usage: tuple[str, ...]
    sans: tuple[SubjectAltName, ...]


class CertificateAuthority:
    def __init__(self, key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate):
        self._key = key
        # Named in everything this CA signs; derived once, since deriving it costs a fifth
        # of what signing a client certificate does.
        self._authority_key_identifier = x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key())
        self._crl_entries: dict[tuple[int, datetime, x509.ReasonFlags], x509.RevokedCertificate] = {}
        self.certificate = certificate
        self.certificate_pem = certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
        self.certificate_der = certificate.public_bytes(serialization.Encoding.DER)
        self.fingerprint = certificate_fingerprint(certificate)

    @staticmethod
    def files_present(data_dir: Path) -> list[Path]:
        """Which of the CA's two files ``data_dir`` holds."""
        return [path for path in (Path(data_dir) / CA_KEY_FILE, Path(data_dir) / CA_CERT_FILE) if path.exists()]

    @classmethod
    def load(cls, data_dir: Path) -> CertificateAuthority:
        """The CA stored in ``data_dir``; CaError naming the file that is missing or does not fit."""
        key_path, cert_path = Path(data_dir) / CA_KEY_FILE, Path(data_dir) / CA_CERT_FILE
        for path in (key_path, cert_path):
            if not path.exists():
                raise CaError(f"{path} is missing; restore it from a backup (a new CA would "
                              "invalidate every certificate issued so far)")
        return cls._load(key_path, cert_path)

    @classmethod
    def create(cls, data_dir: Path, now: float) -> CertificateAuthority:
        """A new CA, written into ``data_dir`` (the key owner-only, last: a CA is complete
        when its key exists)."""
        ca = cls._create(_utc(now))
        _write_owner_only(Path(data_dir) / CA_CERT_FILE, ca.certificate_pem.encode("ascii"))
        _write_owner_only(Path(data_dir) / CA_KEY_FILE, _private_pem(ca._key))
        log.info("created a new certificate authority, fingerprint %s", ca.fingerprint)
        return ca

    @classmethod
    def _create(cls, now: datetime) -> CertificateAuthority:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Client Registry"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Client Registry CA {socket.gethostname()}"[:64]),
        ])
        builder = _builder(name, key.public_key(), name,
                           x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()),
                           now - BACKDATE, now + CA_VALIDITY)
        builder = (
            # May sign end-entity certificates only, never another CA.
            builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(digital_signature=True, key_cert_sign=True, crl_sign=True), critical=True)
        )
        return cls(key, builder.sign(key, hashes.SHA256()))

    @classmethod
    def _load(cls, key_path: Path, cert_path: Path) -> CertificateAuthority:
        try:
            _insist_owner_only(key_path)
            key = serialization.load_pem_private_key(read_secret(key_path, MAX_KEY_FILE_BYTES), password=None)
            certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        except (OSError, ValueError) as error:
            raise CaError(f"cannot read the CA in {key_path.parent}: {error}") from None
        if certificate.public_key() != key.public_key():
            raise CaError(f"{cert_path} does not belong to the key in {key_path}; restore both from one backup")
        return cls(key, certificate)

    def plan_client_certificate(
        self, username: str, key_algorithm: str, sans: tuple[SubjectAltName, ...], now: float
    ) -> IssuancePlan:
        not_before = _utc(now) - BACKDATE
        # A client certificate never outlives the CA that vouches for it.
        not_after = min(_utc(now) + CLIENT_VALIDITY, self.certificate.not_valid_after_utc)
        # keyEncipherment only where the key can encipher (RSA key transport).
        key_usage = ("digitalSignature", "keyEncipherment") if key_algorithm == "RSA" else ("digitalSignature",)
        return IssuancePlan(username, not_before, not_after, key_usage, ("clientAuth",), tuple(sans))

    def issue_client_certificate(self, public_key: CertificatePublicKeyTypes, plan: IssuancePlan,
                                 crl_url: str | None = None) -> x509.Certificate:
        """Sign a client certificate for the CSR's ``public_key`` exactly as ``plan`` says: the
        subject and SANs come from the plan, never from the CSR (which this never sees), nor
        any extension it asked for. With ``crl_url``, relying parties learn where to check for
        its revocation."""
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, plan.common_name)])
        builder = _builder(subject, public_key, self.certificate.subject, self._authority_key_identifier,
                           plan.not_before, plan.not_after)
        for extension, critical in _client_extensions("keyEncipherment" in plan.key_usage, crl_url):
            builder = builder.add_extension(extension, critical)
        if plan.sans:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([san.to_general_name() for san in plan.sans]), critical=False
            )
        return builder.sign(self._key, hashes.SHA256())

    def issue_crl(self, number: int, revoked: list[tuple[int, datetime, x509.ReasonFlags]], this_update: datetime,
                  next_update: datetime) -> x509.CertificateRevocationList:
        """A v2 CRL signed with SHA-256 (RFC 5280 5): its number, who signed it, and each
        revoked certificate's serial, revocation date and reason."""
        # A revocation never changes, and a CRL is reissued at every revocation and renewal:
        # each entry is built once (10,000 of them took 0.09 s) and kept while it is listed.
        kept, entries = self._crl_entries, {}
        for listed in revoked:
            entry = kept.get(listed)
            if entry is None:
                serial, revoked_at, reason = listed
                entry = (x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(revoked_at)
                         .add_extension(x509.CRLReason(reason), critical=False).build())
            entries[listed] = entry
        self._crl_entries = entries
        # Handed to the builder whole: add_revoked_certificate copies the list each time, so
        # 10,000 entries cost 0.1 s of copying alone, at every revocation and renewal.
        builder = (
            x509.CertificateRevocationListBuilder(revoked_certificates=list(entries.values()))
            .issuer_name(self.certificate.subject)
            .last_update(this_update)
            .next_update(next_update)
            .add_extension(x509.CRLNumber(number), critical=False)
            .add_extension(self._authority_key_identifier, critical=False)
        )
        return builder.sign(self._key, hashes.SHA256())

    def ensure_server_certificate(
        self, data_dir: Path, dns_names: list[str], addresses: list[str], now: float
    ) -> tuple[Path, Path]:
        """Paths of a current server certificate and key for these names, issuing one if needed."""
        cert_path, key_path = Path(data_dir) / SERVER_CERT_FILE, Path(data_dir) / SERVER_KEY_FILE
        wanted = {x509.DNSName(name) for name in dns_names} | {
            x509.IPAddress(ipaddress.ip_address(address)) for address in addresses
        }
        if self._server_certificate_is_current(cert_path, key_path, wanted, _utc(now)):
            return cert_path, key_path
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0])])
        not_after = min(_utc(now) + SERVER_VALIDITY, self.certificate.not_valid_after_utc)
        builder = (
            _builder(subject, key.public_key(), self.certificate.subject, self._authority_key_identifier,
                     _utc(now) - BACKDATE, not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(sorted(wanted, key=str)), critical=False)
        )
        certificate = builder.sign(self._key, hashes.SHA256())
        _write_owner_only(key_path, _private_pem(key))
        _write_owner_only(cert_path, certificate.public_bytes(serialization.Encoding.PEM))
        return cert_path, key_path

    def _server_certificate_is_current(self, cert_path: Path, key_path: Path, wanted: set, now: datetime) -> bool:
        try:
            certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
            key = serialization.load_pem_private_key(read_secret(key_path, MAX_KEY_FILE_BYTES), password=None)
            certificate.verify_directly_issued_by(self.certificate)
            names = set(certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
        except (OSError, ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
            return False  # missing, damaged, or from a CA that was replaced: issue a new one
        return (
            certificate.public_key() == key.public_key()
            and names == wanted
            and now + SERVER_RENEW_BEFORE < certificate.not_valid_after_utc
        )


def _builder(subject, public_key, issuer, authority_key_identifier, not_before,
             not_after) -> x509.CertificateBuilder:
    """The fields every certificate shares."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        # 159 random bits: unguessable, and no two certificates share one.
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(authority_key_identifier, critical=False)
    )


@functools.lru_cache(maxsize=16)
def _client_extensions(key_encipherment: bool,
                       crl_url: str | None) -> tuple[tuple[x509.UnrecognizedExtension, bool], ...]:
    """The extensions of a client certificate that do not depend on its holder, and whether
    each is critical, encoded once: cryptography reads every attribute of a typed extension
    again at each signature, a fifth of what signing a client certificate costs."""
    extensions = [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (_key_usage(digital_signature=True, key_encipherment=key_encipherment), True),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False),
    ]
    if crl_url is not None:  # relying parties learn where to check for its revocation
        extensions.append((x509.CRLDistributionPoints([x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_url)], relative_name=None, reasons=None,
            crl_issuer=None)]), False))
    return tuple((x509.UnrecognizedExtension(extension.oid, extension.public_bytes()), critical)
                 for extension, critical in extensions)


def _key_usage(*, digital_signature=False, key_encipherment=False, key_cert_sign=False, crl_sign=False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature, content_commitment=False, key_encipherment=key_encipherment,
        data_encipherment=False, key_agreement=False, key_cert_sign=key_cert_sign, crl_sign=crl_sign,
        encipher_only=False, decipher_only=False,
    )


def _utc(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, tz=timezone.utc)


def _private_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_owner_only(path: Path, data: bytes) -> None:
    """Every file of the data folder is the owner's alone, certificates too (another local
    user has no business in the folder), and never visible half-written."""
    write_atomically(path, data, OWNER_ONLY)


def _insist_owner_only(path: Path) -> None:
    mode = path.stat().st_mode & 0o777
    if make_owner_only(path):
        log.warning("%s was readable by others (mode %o); made it owner-only", path, mode)
