"""EST's answers (RFC 7030): a domain outcome as an HTTP status, a body, maybe Retry-After.

The twin of ``server.web.json_answers``: the core decided; this module spells
the outcome as EST clients expect it. Certificates travel as base64 of a DER
certs-only PKCS#7 (RFC 7030 4.1.3, 4.2.3); every error is one line of text.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

from server.outcomes import AgentOutcome, Granted, Locked, Pending, Refused, RefusalKind, Rejected
from server.web import json_answers
from server.web.json_answers import LOCKED_MESSAGE, PENDING_MESSAGE, REJECTED_MESSAGE

CERTS_ONLY = "application/pkcs7-mime; smime-type=certs-only"
NO_CERTIFICATE = "the client is granted but holds no current certificate; ask an administrator"

# As in the JSON API, but for a wrong password: EST clients take that as a failed
# authentication (401, so that they ask their operator), not as a conflict.
REFUSAL_STATUS = {**json_answers.REFUSAL_STATUS, RefusalKind.WRONG_PASSWORD: 401}


@dataclass(frozen=True)
class EstAnswer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def error(status: int, message: str, retry_after: int | None = None) -> EstAnswer:
    """One line of text; ``Retry-After`` when the client should come back."""
    headers = {"Content-Type": "text/plain; charset=utf-8"}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return EstAnswer(status, (" ".join(message.split()) + "\n").encode("utf-8"), headers)


def certificates(*pems: str, media_type: str = CERTS_ONLY) -> EstAnswer:
    """Certificates as EST sends them: base64 of a DER certs-only PKCS#7. The
    Content-Transfer-Encoding header is sent because widely used clients decode
    only when it is there, though RFC 8951 lets servers leave it out."""
    der = pkcs7.serialize_certificates([x509.load_pem_x509_certificate(pem.encode("ascii")) for pem in pems],
                                       Encoding.DER)
    return EstAnswer(200, base64.encodebytes(der),
                     {"Content-Type": media_type, "Content-Transfer-Encoding": "base64"})


def for_outcome(outcome: AgentOutcome) -> EstAnswer:
    """The answer to simpleenroll or simplereenroll."""
    match outcome:
        case Locked(retry_after=wait):
            return error(423, LOCKED_MESSAGE, wait)
        case Pending(retry_after=wait):
            # RFC 7030 4.2.3: a 202 carries Retry-After, and the client re-sends the same request.
            return error(202, PENDING_MESSAGE, wait)
        case Granted(certificate_pem=None):
            return error(403, NO_CERTIFICATE)
        case Granted(certificate_pem=pem):
            return certificates(pem)
        case Rejected(reason=reason):
            return error(403, reason or REJECTED_MESSAGE)
        case Refused():
            return error(REFUSAL_STATUS[outcome.kind], outcome.message, outcome.retry_after)
    raise TypeError(f"not an outcome: {outcome!r}")
