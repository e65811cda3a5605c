"""The protocol's answers to agents: an HTTP status, a JSON body, maybe Retry-After.

The service decides which answer applies; these only build them, so that each
answer is written once and the OpenAPI document has one place to agree with.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.validation import FieldError, InvalidRequest
from storage.models import Registration

LOCKED_RETRY_AFTER = 10
PENDING_RETRY_AFTER = 5


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
    return error(400, str(problem), [{"field": e.field, "message": e.message} for e in problem.errors])


def unreadable_body(reason: str) -> Answer:
    """A body the HTTP layer could not read (a malformed chunked encoding)."""
    return invalid(InvalidRequest([FieldError("body", f"cannot be read ({reason})")]))


def locked() -> Answer:
    return Answer(423, {"status": "locked", "message": "the registry is locked; ask an administrator to open it"},
                  LOCKED_RETRY_AFTER)


def pending(registration: Registration) -> Answer:
    body = {"status": "pending", "message": "waiting for an administrator to review the request"}
    if registration.key_fingerprint:
        body["fingerprint"] = registration.key_fingerprint
    return Answer(202, body, PENDING_RETRY_AFTER)


def granted(registration: Registration, ca_certificate_pem: str) -> Answer:
    body = {
        "status": "granted",
        "username": registration.username,
        "roles": registration.granted_roles,
        "permissions": registration.granted_permissions,
    }
    if registration.certificate_pem:
        body["certificate"] = registration.certificate_pem
    body["caCertificate"] = ca_certificate_pem
    return Answer(201, body)


def rejected(registration: Registration) -> Answer:
    return Answer(403, {"status": "rejected",
                        "message": registration.reject_reason or "an administrator rejected the request"})


def wrong_password() -> Answer:
    return error(409, "the username is already registered, with a different password")


def changed_pending_request() -> Answer:
    return error(409, "a pending request cannot change: re-send the same CSR, roles, permissions and context, "
                      "or ask an administrator to delete the pending request")


def key_taken() -> Answer:
    return error(409, "the CSR's public key is already registered under another username")


def too_many_failures(retry_after: int) -> Answer:
    return error(429, "too many failed attempts; try again later", retry_after=retry_after)


def too_many_new_requests(retry_after: int) -> Answer:
    return error(429, "too many new registrations from this address; try again later", retry_after=retry_after)


def unauthorized() -> Answer:
    return error(401, "authentication required: a granted client's password or certificate")


def whoami(registration: Registration, method: str) -> Answer:
    return Answer(200, {
        "username": registration.username,
        "roles": registration.granted_roles,
        "permissions": registration.granted_permissions,
        "authenticatedBy": method,
    })
