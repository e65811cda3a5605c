"""The EST adapter (RFC 7030): standard enrolment clients on the same approval flow.

The twin of ``server.web.json_api``: HTTP in, a call on the core's facade, HTTP
out (answers spelled in ``server.web.est_answers``). What is decided here is only
what belongs to EST's wire: a request without credentials is challenged first
(stock clients send credentials only after a 401), bodies are base64 of a DER CSR
(``application/pkcs10``), and Basic credentials stand for the registration's
username and password. Every protocol rule is the core's.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from pathlib import Path

from bottle import Bottle, HTTPResponse, request

from common.api_paths import (
    EST_CACERTS_PATH,
    EST_CSRATTRS_PATH,
    EST_SCRIPT_PATH,
    EST_SIMPLEENROLL_PATH,
    EST_SIMPLEREENROLL_PATH,
)
from server.service import RegistrationService
from server.statuses import VIA_EST
from server.validation import MAX_BODY_BYTES, RegistrationRequest, password_problem, username_problem
from server.web import est_answers, wire
from server.web.est_answers import EstAnswer

# The enrolment script for devices with only sh, curl and openssl, shipped with the
# agent side and served as it is kept in the repository.
ENROLMENT_SCRIPT = Path(__file__).resolve().parents[2] / "client" / "est-enroll.sh"
CHALLENGE = est_answers.error(401, "authentication required: HTTP Basic (username and password) "
                                   "or, to renew, the current certificate")


def add_routes(app: Bottle, service: RegistrationService) -> None:
    """Serve EST's endpoints under /.well-known/est/ and the enrolment script on ``app``."""
    ca_certificates = est_answers.certificates(service.ca.certificate_pem, media_type="application/pkcs7-mime")
    script = ENROLMENT_SCRIPT.read_bytes()

    @app.get(EST_CACERTS_PATH)
    def cacerts():
        return _respond(ca_certificates)

    @app.get(EST_CSRATTRS_PATH)
    def csrattrs():
        return HTTPResponse("", 204)  # RFC 7030 4.5.2: no attributes are required

    @app.post(EST_SIMPLEENROLL_PATH)
    def simpleenroll():
        credentials = wire.credentials()
        if credentials is None:
            return _respond(CHALLENGE)
        return _answer_csr(lambda csr_pem: enrolment_answer(service, credentials, csr_pem, wire.source(),
                                                            wire.arrived()))

    @app.post(EST_SIMPLEREENROLL_PATH)
    def simplereenroll():
        certificate, credentials = wire.client_certificate(), wire.credentials()
        if certificate is None and credentials is None:
            return _respond(CHALLENGE)
        # RFC 7030 4.2.2: the CSR's subject must be the current certificate's.
        return _answer_csr(lambda csr_pem: est_answers.for_outcome(service.renew(
            certificate, credentials, csr_pem, wire.source(), same_subject=True, via=VIA_EST)))

    @app.get(EST_SCRIPT_PATH)
    def enrolment_script():
        return HTTPResponse(script, 200, {"Content-Type": "text/plain; charset=utf-8"})


def enrolment_answer(service: RegistrationService, credentials: tuple[str, str], csr_pem: str,
                     source: str, arrived: float | None = None) -> EstAnswer:
    """simpleenroll as a registration request: the Basic credentials are its username
    and password, the CSR its only content (no roles, permissions or context)."""
    username, password = credentials
    # All that makes it this request, unambiguously: a repeat of a pending one is answered at once.
    sent = json.dumps([username, password, csr_pem]).encode("utf-8")
    if (repeated := service.poll_again(sent, source)) is not None:
        return est_answers.for_outcome(repeated)
    for name, problem in (("username", username_problem(username)), ("password", password_problem(password))):
        if problem:
            return est_answers.error(400, f"{name}: {problem}")
    registration = RegistrationRequest(username, password, None, (), (), csr_pem, enrolled_via=VIA_EST)
    return est_answers.for_outcome(service.register(registration, source, arrived, sent))


def csr_pem_of(body: bytes, content_type: str | None, transfer_encoding: str | None) -> str | EstAnswer:
    """The CSR of an EST request body as PEM, or the answer saying why there is none.

    RFC 7030 4.2.1: base64 of the DER, line breaks allowed; RFC 8951 lets the
    Content-Transfer-Encoding header go, so base64 is assumed without it.
    """
    if len(body) > MAX_BODY_BYTES:
        return est_answers.error(413, f"the request body is larger than {MAX_BODY_BYTES // 1024} KiB")
    if (content_type or "").partition(";")[0].strip().lower() != "application/pkcs10":
        return est_answers.error(415, "the request body must be a CSR, sent as Content-Type: application/pkcs10")
    if (transfer_encoding or "base64").strip().lower() != "base64":
        return est_answers.error(415, "the request body must be base64 (Content-Transfer-Encoding: base64)")
    try:
        der = base64.b64decode(b"".join(body.split()), validate=True)
    except binascii.Error:
        return est_answers.error(400, "the request body is not base64 of a DER CSR")
    # The core reads CSRs as PEM: the same DER base64 under PEM's armour.
    return ("-----BEGIN CERTIFICATE REQUEST-----\n" + base64.encodebytes(der).decode("ascii")
            + "-----END CERTIFICATE REQUEST-----\n")


def _answer_csr(answer: Callable[[str], EstAnswer]) -> HTTPResponse:
    """Read the body, take its CSR, and respond with ``answer(csr_pem)``."""
    def with_csr(body: bytes) -> HTTPResponse:
        csr_pem = csr_pem_of(body, wire.content_type(), request.environ.get("HTTP_CONTENT_TRANSFER_ENCODING"))
        return _respond(csr_pem if isinstance(csr_pem, EstAnswer) else answer(csr_pem))

    return wire.with_body(MAX_BODY_BYTES, with_csr,
                          lambda reason: _respond(est_answers.error(400, f"the request body cannot be read ({reason})")))


def _respond(answer: EstAnswer) -> HTTPResponse:
    headers = {"Cache-Control": "no-store", **answer.headers}
    if answer.status == 401:
        headers["WWW-Authenticate"] = wire.BASIC_CHALLENGE
    return HTTPResponse(answer.body, answer.status, headers)
