"""Renewal: a granted client's new certificate, without an administrator (SPEC: Renewal).

``AgentProtocol.renew`` authenticates the client (its current certificate, or
its password) and hands it here: the CSR is checked as at registration, the
new certificate keeps the subject and the SANs granted at the grant, and the
previous current certificate is revoked as superseded in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography import x509

from server.agent_terms import KEY_TAKEN, agent_actor, permissions_of
from server.ca import CertificateAuthority
from server.csr import CsrError, check_csr, issuable_san
from server.lifecycle import CertificateLifecycle
from server.notifications import REVOKED_EVENT, queue
from server.outcomes import Granted, RefusalKind, Refused
from server.validation import FieldError
from storage import audit, certificates, registrations, write_transaction
from storage.records import RegistrationRecord

NO_CERTIFICATE = "the client was granted without a CSR, so there is no certificate to renew"
SUBJECT_CHANGED = "the CSR's subject must equal the current certificate's ({})"


def renew_certificate(registration: RegistrationRecord, method: str, csr_pem: str, source: str, *, via: str,
                      same_subject: bool, ca: CertificateAuthority, clock: Callable[[], float],
                      lifecycle: CertificateLifecycle) -> Granted | Refused:
    """The new certificate for ``registration`` (granted, authenticated by ``method``).

    ``same_subject``: the CSR's subject must equal the current certificate's, as
    EST's simplereenroll demands (RFC 7030 4.2.2); ``via`` marks the audit entry."""
    newest = certificates.newest_of(registration.id)
    if newest is None:
        return Refused(NO_CERTIFICATE, RefusalKind.NOT_ALLOWED)
    try:
        checked = check_csr(csr_pem, registration.username)
    except CsrError as error:
        problem = FieldError("csr", str(error))
        return Refused(str(problem), RefusalKind.INVALID, errors=(problem,))
    holder = registrations.find_by_key(checked.review.key_fingerprint)
    if holder is not None and holder.id != registration.id:
        return Refused(KEY_TAKEN, RefusalKind.KEY_TAKEN)
    # The SANs granted at the grant are in every certificate since: keep them.
    previous = x509.load_pem_x509_certificate(newest.pem.encode("ascii"))
    if same_subject and checked.csr.subject != previous.subject:
        return Refused(SUBJECT_CHANGED.format(previous.subject.rfc4514_string()), RefusalKind.NOT_ALLOWED)
    sans = _issued_sans(previous)
    plan = ca.plan_client_certificate(registration.username, checked.review.key_algorithm, sans,
                                            clock())
    with write_transaction():
        replaced = certificates.revoke_current(registration.id, clock(), "superseded")
        if checked.review.key_fingerprint != registration.key_fingerprint:
            registrations.set_key(registration.id, checked.review.key_fingerprint)
        else:
            registrations.touch(registration.id)
        certificate = lifecycle.issue(registration.id, registration.username, checked.public_key, plan)
        serial = certificate.serial
        if replaced:
            lifecycle.reissue_in_transaction()
        audit.record(clock(), agent_actor(source, via), "renew", registration.username,
                     f"certificate serial {serial} by {method}"
                     + "".join(f"; serial {record.serial} superseded" for record in replaced))
        for record in replaced:
            queue(clock(), REVOKED_EVENT, registration.username, certificateSerial=record.serial,
                  reason="superseded")
    if replaced:
        lifecycle.publish()
    return Granted(registration.username, tuple(registration.granted_roles or ()),
                   permissions_of(registration.granted_permissions),
                   certificate.pem, ca.certificate_pem)


def _issued_sans(certificate: x509.Certificate) -> tuple:
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(san for san in map(issuable_san, names) if san is not None)
