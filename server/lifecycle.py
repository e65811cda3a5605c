"""A certificate's life after the grant: kept, revoked, published on the CRL.

Every certificate the registry issues is stored (``storage.certificates``). A
revocation and the CRL that lists it are written in one transaction: the CRL's
number is taken and its DER stored under the same write lock, so numbers only
grow and no revocation is ever missing from the CRL that followed it. The CRL
is also published (``publish_crl``: the wiring writes ``crl.pem`` into the data
folder) and reissued by a chore before its ``nextUpdate`` passes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding

from common.fingerprints import certificate_fingerprint
from server.ca import CertificateAuthority, IssuancePlan
from storage import certificates, registry_state, write_transaction
from storage.records import CertificateRecord

# The names SPEC's `admin revoke --reason` takes, as RFC 5280 5.3.1 names them.
REASONS = {
    "unspecified": x509.ReasonFlags.unspecified,
    "keyCompromise": x509.ReasonFlags.key_compromise,
    "affiliationChanged": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessationOfOperation": x509.ReasonFlags.cessation_of_operation,
}
CRL_VALIDITY = timedelta(hours=24)
# Reissued when less than this is left, so relying parties never hold a stale CRL.
CRL_REISSUE_BEFORE = timedelta(hours=12)

CURRENT, EXPIRED, REVOKED = "current", "expired", "revoked"


@dataclass(frozen=True)
class CertificateView:
    """One issued certificate, as the window and the CLI list it."""

    serial: str
    username: str
    issued_at: float
    not_after: float
    revoked_at: float | None
    revocation_reason: str | None
    state: str  # current, expired or revoked
    pem: str


@dataclass(frozen=True)
class SignedCertificate:
    """A certificate just signed, in the forms it is stored and handed out in: worked out
    when it is signed, so that a grant's write transaction only writes."""

    serial: str  # lowercase hex
    fingerprint: str  # SHA-256 over its DER
    pem: str
    not_after: float


@dataclass(frozen=True)
class CrlInfo:
    number: int
    next_update: float
    der: bytes


class CertificateLifecycle:
    def __init__(self, ca: CertificateAuthority, clock: Callable[[], float],
                 publish_crl: Callable[[bytes], None] = lambda der: None, crl_url: str | None = None):
        self._ca = ca
        self._clock = clock
        self._publish_crl = publish_crl
        self._crl_url = crl_url

    def issue(self, registration_id: int, username: str, public_key: CertificatePublicKeyTypes,
              plan: IssuancePlan) -> SignedCertificate:
        """Sign and keep a certificate; call inside the write transaction that grants or renews."""
        signed = self.sign(public_key, plan)
        self.keep(registration_id, username, signed)
        return signed

    def sign(self, public_key: CertificatePublicKeyTypes, plan: IssuancePlan) -> SignedCertificate:
        """A certificate as ``plan`` says, not yet kept: an administrator's grant signs before
        it takes the write lock, and drops the certificate if the request was decided meanwhile."""
        certificate = self._ca.issue_client_certificate(public_key, plan, self._crl_url)
        return SignedCertificate(format(certificate.serial_number, "x"), certificate_fingerprint(certificate),
                                 certificate.public_bytes(Encoding.PEM).decode("ascii"),
                                 certificate.not_valid_after_utc.timestamp())

    def keep(self, registration_id: int, username: str, signed: SignedCertificate) -> None:
        """Store a signed certificate; call inside the write transaction that grants or renews."""
        self.keep_each([(registration_id, username, signed)])

    def keep_each(self, issued: Iterable[tuple[int, str, SignedCertificate]]) -> None:
        """Store signed certificates given as (registration id, username, certificate), all at
        once; call inside the write transaction that grants them."""
        now = self._clock()
        certificates.add_each({"registration_id": registration_id, "username": username, "serial": signed.serial,
                               "fingerprint": signed.fingerprint, "pem": signed.pem, "issued_at": now,
                               "not_after": signed.not_after} for registration_id, username, signed in issued)

    def revoke_all(self, registration_id: int, reason: str) -> list[CertificateRecord]:
        """Revoke every unrevoked certificate of a registration and reissue the CRL if any
        was; call inside the write transaction, then ``publish``."""
        revoked = certificates.revoke_current(registration_id, self._clock(), reason)
        if revoked:
            self.reissue_in_transaction()
        return revoked

    def reissue_in_transaction(self) -> CrlInfo:
        """Issue the next CRL and store it; call inside a write transaction, then ``publish``."""
        now = self._clock()
        number, _, _ = registry_state.current_crl()
        this_update = datetime.fromtimestamp(now, tz=timezone.utc)
        next_update = this_update + CRL_VALIDITY
        revoked = [(int(serial, 16), datetime.fromtimestamp(at, tz=timezone.utc), REASONS[reason])
                   for serial, at, reason in certificates.revoked_unexpired(now)]
        der = self._ca.issue_crl(number + 1, revoked, this_update, next_update).public_bytes(Encoding.DER)
        registry_state.store_crl(number + 1, der, next_update.timestamp())
        return CrlInfo(number + 1, next_update.timestamp(), der)

    def publish(self) -> None:
        """Hand the stored CRL to whoever publishes it (``crl.pem`` in the data folder)."""
        _, der, _ = registry_state.current_crl()
        if der is not None:
            self._publish_crl(der)

    def current_crl(self) -> CrlInfo:
        """The CRL to serve: the stored one, issued first if there is none yet."""
        number, der, next_update = registry_state.current_crl()
        if der is None:
            return self.reissue()
        return CrlInfo(number, next_update, der)

    def reissue(self) -> CrlInfo:
        with write_transaction():
            crl = self.reissue_in_transaction()
        self.publish()
        return crl

    def reissue_if_due(self) -> CrlInfo | None:
        """The chore: a new CRL when the stored one nears its ``nextUpdate`` (or there is none).

        Decided under the write lock, so that of several processes only one reissues."""
        with write_transaction():
            _, der, next_update = registry_state.current_crl()
            if der is not None and next_update - self._clock() > CRL_REISSUE_BEFORE.total_seconds():
                return None
            crl = self.reissue_in_transaction()
        self.publish()
        return crl

    def listed(self, username: str | None = None) -> list[CertificateView]:
        """Every certificate issued (under ``username``, any case, when given), oldest first."""
        now = self._clock()
        return [_view(record, now) for record in certificates.listed(username)]

    def history(self, registration_id: int) -> tuple[CertificateView, ...]:
        """One client's certificates, oldest first."""
        now = self._clock()
        return tuple(_view(record, now) for record in certificates.of_registration(registration_id))


def state_of(record: CertificateRecord, now: float) -> str:
    if record.revoked_at is not None:
        return REVOKED
    return CURRENT if record.not_after > now else EXPIRED


def _view(record: CertificateRecord, now: float) -> CertificateView:
    return CertificateView(record.serial, record.username, record.issued_at, record.not_after, record.revoked_at,
                           record.revocation_reason, state_of(record, now), record.pem)
