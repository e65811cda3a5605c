"""The JSON API adapter: the bottle app that agents talk to.

HTTP in, a call on the core's facade, HTTP out (answers spelled in
``server.web.json_answers``). What is decided here is only what belongs to
the wire: how large a body may be, its content type, the JSON itself, where
the credentials and the client certificate come from. No protocol rule lives
here.
"""

from __future__ import annotations

import base64
import json
import logging
from importlib import resources

from bottle import Bottle, HTTPResponse, request

from common.api_paths import CA_PATH, CRL_PATH, OPENAPI_PATH, REGISTER_PATH, RENEW_PATH, WHOAMI_PATH
from server.service import RegistrationService
from server.validation import (
    MAX_BODY_BYTES,
    InvalidRequest,
    is_json_content_type,
    parse_registration,
    parse_renewal,
)
from server.web import json_answers
from server.web.json_answers import Answer
from server.web.requests import BodyTooLarge

log = logging.getLogger(__name__)

# Set by the HTTP server (server.web.http_server) when a client presented a certificate
# that chains to our CA.
CLIENT_CERTIFICATE_KEY = "client_registry.client_certificate_der"
DRAIN_BYTES = 1024 * 1024


def create_app(service: RegistrationService) -> Bottle:
    app = Bottle()
    openapi_document = openapi_document_bytes()

    @app.post(REGISTER_PATH)
    def register():
        return _answer_body(lambda body: registration_answer(service, body, request.environ.get("CONTENT_TYPE"),
                                                             _source()))

    @app.post(RENEW_PATH)
    def renew():
        return _answer_body(lambda body: renewal_answer(
            service, body, request.environ.get("CONTENT_TYPE"), request.environ.get(CLIENT_CERTIFICATE_KEY),
            basic_credentials(request.environ.get("HTTP_AUTHORIZATION", "")), _source()))

    @app.get(CA_PATH)
    def ca_certificate():
        return HTTPResponse(service.ca.certificate_pem, 200, {"Content-Type": "application/x-pem-file"})

    @app.get(CRL_PATH)
    def crl():
        return HTTPResponse(service.crl().der, 200, {"Content-Type": "application/pkix-crl",
                                                     "Cache-Control": "no-cache"})

    @app.get(WHOAMI_PATH)
    def whoami():
        outcome = service.whoami(request.environ.get(CLIENT_CERTIFICATE_KEY),
                                 basic_credentials(request.environ.get("HTTP_AUTHORIZATION", "")), _source())
        return _respond(json_answers.for_whoami(outcome))

    @app.get(OPENAPI_PATH)
    def openapi():
        return HTTPResponse(openapi_document, 200, {"Content-Type": "application/json"})

    # bottle answers its own errors with an HTML page; this API answers JSON,
    # and never with a traceback.
    for status, message in ((400, "bad request"), (404, "no such resource"), (405, "method not allowed"),
                            (413, "request too large"), (500, "internal error")):
        app.error(status)(_json_error(status, message))
    return app


def registration_answer(service: RegistrationService, body: bytes, content_type: str | None,
                        source: str) -> Answer:
    """The answer to ``POST register`` with this body: the wire's checks, then the core's."""
    problem = _body_problem(body, content_type)
    if problem is not None:
        return problem
    try:
        registration = parse_registration(body)
    except InvalidRequest as invalid:
        return json_answers.invalid(invalid)
    return json_answers.for_outcome(service.register(registration, source))


def renewal_answer(service: RegistrationService, body: bytes, content_type: str | None,
                   certificate_der: bytes | None, credentials: tuple[str, str] | None, source: str) -> Answer:
    """The answer to ``POST renew``: the same body rules as registration, then the core's."""
    problem = _body_problem(body, content_type)
    if problem is not None:
        return problem
    try:
        csr_pem = parse_renewal(body)
    except InvalidRequest as invalid:
        return json_answers.invalid(invalid)
    return json_answers.for_outcome(service.renew(certificate_der, credentials, csr_pem, source))


def _body_problem(body: bytes, content_type: str | None) -> Answer | None:
    if len(body) > MAX_BODY_BYTES:
        return _too_large()
    if not is_json_content_type(content_type):
        return json_answers.error(415, "the request body must be JSON, sent as Content-Type: application/json")
    return None


def _answer_body(answer) -> HTTPResponse:
    """Read the request body and ``answer(body)``; a body that cannot be read is a 400."""
    try:
        body = _read_body(MAX_BODY_BYTES)
    except BodyTooLarge:  # one chunk beyond what the server reads at all
        return _closing(_respond(_too_large()))
    except ValueError as error:  # cheroot's complaint about a malformed chunked body
        return _closing(_respond(json_answers.unreadable_body(str(error))))
    return _respond(answer(body))


def openapi_document_bytes() -> bytes:
    """The API's OpenAPI document, served exactly as kept in the repository (server/openapi.json)."""
    return resources.files("server").joinpath("openapi.json").read_bytes()


def _respond(answer: Answer) -> HTTPResponse:
    headers = {"Content-Type": "application/json", "Cache-Control": "no-store"}
    if answer.retry_after is not None:
        headers["Retry-After"] = str(answer.retry_after)
    if answer.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="Client Registry", charset="UTF-8"'
    return HTTPResponse(json.dumps(answer.body), answer.status, headers)


def _too_large() -> Answer:
    return json_answers.error(413, f"the request body is larger than {MAX_BODY_BYTES // 1024} KiB")


def _closing(response: HTTPResponse) -> HTTPResponse:
    response.set_header("Connection", "close")  # what follows on the stream is garbage
    return response


def _json_error(status: int, message: str):
    def handler(error) -> str:
        if status == 500:
            log.error("internal error on %s %s: %r", request.method, request.path, error.exception)
        error.content_type = "application/json"
        return json.dumps({"status": "error", "message": message})

    return handler


def _source() -> str:
    # The socket's peer, never X-Forwarded-For: any client can write that header.
    return request.environ.get("REMOTE_ADDR", "")


def _read_body(limit: int) -> bytes:
    """At most ``limit + 1`` bytes, enough to tell an oversized body from a full one,
    whether it came with Content-Length or chunked."""
    stream = request.environ["wsgi.input"]
    chunks, size = [], 0
    while size <= limit:
        chunk = stream.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        _discard(stream, DRAIN_BYTES)
    return b"".join(chunks)


def _discard(stream, most: int) -> None:
    """Read and drop what a client is still sending, up to ``most`` bytes.

    The server closes the connection after a 413; closing while the client is
    still writing makes its kernel drop our answer (a TCP reset). Draining a
    bounded amount first lets an ordinary oversized request read its 413.
    """
    while most > 0:
        try:
            chunk = stream.read(min(most, 65536))
        except BodyTooLarge:
            return  # past even what the server reads; the connection closes anyway
        if not chunk:
            return
        most -= len(chunk)


def basic_credentials(header: str) -> tuple[str, str] | None:
    """(username, password) from an ``Authorization: Basic`` header; None for anything else."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, separator, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except ValueError:  # not base64 (binascii.Error), not ASCII, or not UTF-8 once decoded
        return None
    return (username, password) if separator else None
