"""The JSON API adapter: the bottle app that agents talk to.

HTTP in, a call on the core's facade, HTTP out (answers spelled in
``server.web.json_answers``). What is decided here is only what belongs to
the wire: how large a body may be, its content type, the JSON itself, where
the credentials and the client certificate come from. No protocol rule lives
here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
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
from server.web import json_answers, wire
from server.web.json_answers import Answer

log = logging.getLogger(__name__)


def create_app(service: RegistrationService, *adapters: Callable[[Bottle, RegistrationService], None]) -> Bottle:
    """The JSON API's app; each of ``adapters`` (another wire format, such as
    ``server.web.est.add_routes``) then adds its own routes to it."""
    app = Bottle()
    app.add_hook("after_request", service.done_with_connection)
    openapi_document = openapi_document_bytes()

    @app.post(REGISTER_PATH)
    def register():
        return _answer_body(lambda body: registration_answer(service, body, wire.content_type(), wire.source(),
                                                             wire.arrived()))

    @app.post(RENEW_PATH)
    def renew():
        return _answer_body(lambda body: renewal_answer(
            service, body, wire.content_type(), wire.client_certificate(), wire.credentials(), wire.source()))

    @app.get(CA_PATH)
    def ca_certificate():
        return HTTPResponse(service.ca.certificate_pem, 200, {"Content-Type": "application/x-pem-file"})

    @app.get(CRL_PATH)
    def crl():
        return HTTPResponse(service.crl().der, 200, {"Content-Type": "application/pkix-crl",
                                                     "Cache-Control": "no-cache"})

    @app.get(WHOAMI_PATH)
    def whoami():
        outcome = service.whoami(wire.client_certificate(), wire.credentials(), wire.source())
        return _respond(json_answers.for_whoami(outcome))

    @app.get(OPENAPI_PATH)
    def openapi():
        return HTTPResponse(openapi_document, 200, {"Content-Type": "application/json"})

    # bottle answers its own errors with an HTML page; this API answers JSON,
    # and never with a traceback.
    for status, message in ((400, "bad request"), (404, "no such resource"), (405, "method not allowed"),
                            (413, "request too large"), (500, "internal error")):
        app.error(status)(_json_error(status, message))
    for add_routes in adapters:
        add_routes(app, service)
    return app


def registration_answer(service: RegistrationService, body: bytes, content_type: str | None,
                        source: str, arrived: float | None = None) -> Answer:
    """The answer to ``POST register`` with this body: the wire's checks, then the core's."""
    problem = _body_problem(body, content_type)
    if problem is not None:
        return problem
    # A pending request's poll, repeated byte for byte, needs neither the parsing nor the field rules.
    repeated = service.poll_again(body, source)
    if repeated is not None:
        return json_answers.for_outcome(repeated)
    return _parsed_answer(body, parse_registration,
                          lambda registration: service.register(registration, source, arrived, sent=body))


def renewal_answer(service: RegistrationService, body: bytes, content_type: str | None,
                   certificate_der: bytes | None, credentials: tuple[str, str] | None, source: str) -> Answer:
    """The answer to ``POST renew``: the same body rules as registration, then the core's."""
    problem = _body_problem(body, content_type)
    if problem is not None:
        return problem
    return _parsed_answer(body, parse_renewal,
                          lambda csr_pem: service.renew(certificate_der, credentials, csr_pem, source))


def _parsed_answer(body: bytes, parse, decide) -> Answer:
    """``parse`` the body (a 400 naming each problem), then the core's answer (``decide``)."""
    try:
        parsed = parse(body)
    except InvalidRequest as invalid:
        return json_answers.invalid(invalid)
    return json_answers.for_outcome(decide(parsed))


def _body_problem(body: bytes, content_type: str | None) -> Answer | None:
    if len(body) > MAX_BODY_BYTES:
        return _too_large()
    if not is_json_content_type(content_type):
        return json_answers.error(415, "the request body must be JSON, sent as Content-Type: application/json")
    return None


def _answer_body(answer) -> HTTPResponse:
    """Read the request body and respond with ``answer(body)``; a body that cannot be read is a 400."""
    return wire.with_body(MAX_BODY_BYTES, lambda body: _respond(answer(body)),
                          lambda reason: _respond(json_answers.unreadable_body(reason)))


def openapi_document_bytes() -> bytes:
    """The API's OpenAPI document, served exactly as kept in the repository (server/openapi.json)."""
    return resources.files("server").joinpath("openapi.json").read_bytes()


def _respond(answer: Answer) -> HTTPResponse:
    headers = {"Content-Type": "application/json", "Cache-Control": "no-store"}
    if answer.retry_after is not None:
        headers["Retry-After"] = str(answer.retry_after)
    if answer.status == 401:
        headers["WWW-Authenticate"] = wire.BASIC_CHALLENGE
    return HTTPResponse(json.dumps(answer.body), answer.status, headers)


def _too_large() -> Answer:
    return json_answers.error(413, f"the request body is larger than {MAX_BODY_BYTES // 1024} KiB")


def _json_error(status: int, message: str):
    def handler(error) -> str:
        if status == 500:
            log.error("internal error on %s %s: %r", request.method, request.path, error.exception)
        error.content_type = "application/json"
        return json.dumps({"status": "error", "message": message})

    return handler

