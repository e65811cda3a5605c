"""The JSON API's answers: a domain outcome as an HTTP status, a JSON body, maybe Retry-After.

The core decides which outcome applies; this module only spells it in the JSON
API's terms (SPEC: HTTP API, the status table), so that each answer is written
once and the OpenAPI document has one place to agree with.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.outcomes import AgentOutcome, Authenticated, Granted, Locked, Pending, Refused, RefusalKind, Rejected
from server.validation import FieldError, InvalidRequest

LOCKED_MESSAGE = "the registry is locked; ask an administrator to open it"
PENDING_MESSAGE = "waiting for an administrator to review the request"
REJECTED_MESSAGE = "an administrator rejected the request"

# The status code of each refusal in this API; EST (server.web.est_answers) differs for one.
REFUSAL_STATUS = {
    RefusalKind.INVALID: 400,
    RefusalKind.WRONG_PASSWORD: 409,
    RefusalKind.CHANGED_PENDING: 409,
    RefusalKind.KEY_TAKEN: 409,
    RefusalKind.TAKEN_MEANWHILE: 409,
    RefusalKind.TOO_MANY_FAILURES: 429,
    RefusalKind.TOO_MANY_NEW_REQUESTS: 429,
    RefusalKind.UNAUTHENTICATED: 401,
    RefusalKind.NOT_ALLOWED: 403,
    RefusalKind.UNAVAILABLE: 503,
    RefusalKind.BUSY: 503,
}


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict
    retry_after: int | None = None


def error(status: int, message: str, errors: list | None = None, retry_after: int | None = None) -> Answer:
    body = {"status": "error", "message": message}
    if errors is not None:
        body["errors"] = errors
    return Answer(status, body, retry_after)


def invalid(problem: InvalidRequest) -> Answer:
    return error(400, str(problem), _field_errors(problem.errors))


def unreadable_body(reason: str) -> Answer:
    """A body the HTTP layer could not read (a malformed chunked encoding)."""
    return invalid(InvalidRequest([FieldError("body", f"cannot be read ({reason})")]))


def for_outcome(outcome: AgentOutcome) -> Answer:
    """The answer to a registration request or poll."""
    match outcome:
        case Locked(retry_after=wait):
            return Answer(423, {"status": "locked", "message": LOCKED_MESSAGE}, wait)
        case Pending(key_fingerprint=fingerprint, retry_after=wait, pairing_code=code):
            body = {"status": "pending", "message": PENDING_MESSAGE}
            if fingerprint:
                body["fingerprint"] = fingerprint
            if code:
                body["pairingCode"] = code
            return Answer(202, body, wait)
        case Granted():
            return _granted(outcome)
        case Rejected(reason=reason):
            return Answer(403, {"status": "rejected", "message": reason or REJECTED_MESSAGE})
        case Refused():
            return _refused(outcome)
    raise TypeError(f"not an outcome: {outcome!r}")


def for_whoami(outcome: Authenticated | Refused) -> Answer:
    if isinstance(outcome, Refused):
        return _refused(outcome)
    return Answer(200, {
        "username": outcome.username,
        "roles": list(outcome.roles),
        "permissions": [p.to_json() for p in outcome.permissions],
        "authenticatedBy": outcome.method,
    })


def _granted(granted: Granted) -> Answer:
    body = {
        "status": "granted",
        "username": granted.username,
        "roles": list(granted.roles),
        "permissions": [p.to_json() for p in granted.permissions],
    }
    if granted.certificate_pem:
        body["certificate"] = granted.certificate_pem
    body["caCertificate"] = granted.ca_certificate_pem
    return Answer(201, body)


def _refused(refused: Refused) -> Answer:
    errors = _field_errors(refused.errors) if refused.kind is RefusalKind.INVALID else None
    return error(REFUSAL_STATUS[refused.kind], refused.message, errors, refused.retry_after)


def _field_errors(errors) -> list[dict]:
    return [{"field": e.field, "message": e.message} for e in errors]
