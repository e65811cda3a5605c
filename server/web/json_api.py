"""The bottle app: HTTP in, a service call, HTTP out. No protocol rule lives here."""

from __future__ import annotations

import base64
import json
import logging
from importlib import resources

from bottle import Bottle, HTTPResponse, request

from server import answers
from server.answers import Answer
from server.service import RegistrationService
from server.validation import MAX_BODY_BYTES

log = logging.getLogger(__name__)

REGISTER_PATH = "/api/client-registry/register"
CA_PATH = "/api/client-registry/ca"
WHOAMI_PATH = "/api/auth/whoami"
OPENAPI_PATH = "/api/openapi.json"

# Set by the HTTP server (server.http_server) when a client presented a certificate
# that chains to our CA.
CLIENT_CERTIFICATE_KEY = "client_registry.client_certificate_der"
DRAIN_BYTES = 1024 * 1024


def create_app(service: RegistrationService) -> Bottle:
    app = Bottle()
    openapi_document = openapi_document_bytes()

    @app.post(REGISTER_PATH)
    def register():
        try:
            body = _read_body(MAX_BODY_BYTES)
        except ValueError as error:  # cheroot's complaint about a malformed chunked body
            response = _respond(answers.unreadable_body(str(error)))
            response.set_header("Connection", "close")  # what follows on the stream is garbage
            return response
        return _respond(service.register(body, request.environ.get("CONTENT_TYPE"), _source()))

    @app.get(CA_PATH)
    def ca_certificate():
        return HTTPResponse(service.ca.certificate_pem, 200, {"Content-Type": "application/x-pem-file"})

    @app.get(WHOAMI_PATH)
    def whoami():
        certificate = request.environ.get(CLIENT_CERTIFICATE_KEY)
        if certificate:
            answer = service.whoami_by_certificate(certificate)
            if answer.status == 200:
                return _respond(answer)
        credentials = _basic_credentials(request.environ.get("HTTP_AUTHORIZATION", ""))
        if credentials is None:
            return _respond(answers.unauthorized())
        return _respond(service.whoami_by_password(*credentials, _source()))

    @app.get(OPENAPI_PATH)
    def openapi():
        return HTTPResponse(openapi_document, 200, {"Content-Type": "application/json"})

    # bottle answers its own errors with an HTML page; this API answers JSON,
    # and never with a traceback.
    for status, message in ((400, "bad request"), (404, "no such resource"), (405, "method not allowed"),
                            (413, "request too large"), (500, "internal error")):
        app.error(status)(_json_error(status, message))
    return app


def openapi_document_bytes() -> bytes:
    """The API's OpenAPI document, served exactly as kept in the repository (server/openapi.json)."""
    return resources.files(__package__).joinpath("openapi.json").read_bytes()


def _respond(answer: Answer) -> HTTPResponse:
    headers = {"Content-Type": "application/json", "Cache-Control": "no-store"}
    if answer.retry_after is not None:
        headers["Retry-After"] = str(answer.retry_after)
    if answer.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="Client Registry", charset="UTF-8"'
    return HTTPResponse(json.dumps(answer.body), answer.status, headers)


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
        chunk = stream.read(min(most, 65536))
        if not chunk:
            return
        most -= len(chunk)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, separator, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except ValueError:  # not base64 (binascii.Error), not ASCII, or not UTF-8 once decoded
        return None
    return (username, password) if separator else None
