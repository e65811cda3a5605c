"""The OpenAPI document (server/openapi.json) against the real server.

The document is served as kept in the repository, names exactly the routes the
app serves, and every response it lists is one the server really gives, with
the body, headers and media type it describes (checked by schemathesis' own
conformance checks). schemathesis then fuzzes every operation over real HTTPS,
with the registry locked and open: no 5xx, no answer the document does not
describe, and every request the document forbids is refused.
"""

from __future__ import annotations

import functools
import json
import socket
import ssl
from collections import defaultdict
from pathlib import Path

import jsonschema_rs
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

import server
from server.ca import CA_CERT_FILE
from server.web import est
from server.web.json_api import create_app
from server.validation import MAX_BODY_BYTES, InvalidRequest, parse_registration
from tests.helpers import key_pem, make_csr

DOCUMENT_FILE = Path(server.__file__).with_name("openapi.json")
DOCUMENT = json.loads(DOCUMENT_FILE.read_text(encoding="utf-8"))
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)

REGISTER = "/api/client-registry/register"
CA = "/api/client-registry/ca"
WHOAMI = "/api/auth/whoami"
OPENAPI = "/api/openapi.json"
CRL = "/api/client-registry/crl"
# 503 needs a full disk: tests/test_data_folder.py makes one and checks the answer.
UNAVAILABLE = {503}
RENEW = "/api/client-registry/renew"
ENROLL = "/.well-known/est/simpleenroll"
REENROLL = "/.well-known/est/simplereenroll"
CACERTS = "/.well-known/est/cacerts"
CSRATTRS = "/.well-known/est/csrattrs"
SCRIPT = "/api/client-registry/est-enroll.sh"
# Their documented answers are produced in tests/test_openapi_est.py.
EST_PATHS = {ENROLL, REENROLL, CACERTS, CSRATTRS, SCRIPT}

CONFORMANCE = [status_code_conformance, content_type_conformance, response_headers_conformance,
               response_schema_conformance]
# negative_data_rejection: whatever the document forbids, the server refuses (4xx).
# unsupported_method: a method the document does not list for a path gets 405 with Allow.
FUZZ_CHECKS = [not_a_server_error, *CONFORMANCE, negative_data_rejection, unsupported_method]


@functools.cache
def component_validator(name: str) -> jsonschema_rs.Validator:
    """A validator for one of the document's component schemas, its $refs resolved in the document."""
    return jsonschema_rs.validator_for({"$ref": f"#/components/schemas/{name}", "components": DOCUMENT["components"]})


@pytest.fixture
def session(server, tmp_path):
    """A requests session; calls pass verify=session.verify, the registry's CA file only."""
    with requests.Session() as http:
        http.trust_env = False  # REQUESTS_CA_BUNDLE or a proxy from the environment would win over verify
        http.verify = str(tmp_path / "data" / CA_CERT_FILE)
        yield http


# ----------------------------------------------------------------- the document itself


def test_document_is_valid_openapi_31_and_its_example_is_a_valid_request():
    SCHEMA.validate()  # against the OpenAPI 3.1 meta-schema
    assert DOCUMENT["openapi"].startswith("3.1.")
    for name, schema in DOCUMENT["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name
    example = DOCUMENT["paths"][REGISTER]["post"]["requestBody"]["content"]["application/json"]["example"]
    component_validator("RegistrationRequest").validate(example)
    assert parse_registration(json.dumps(example).encode()).username == example["username"]


def test_served_document_is_the_repository_file(client):
    reply = client.request("GET", OPENAPI)

    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    assert reply.body == DOCUMENT_FILE.read_bytes()


def test_document_names_every_route_the_app_serves_and_no_other(service):
    served = {(route.method, route.rule) for route in create_app(service, est.add_routes).routes}
    documented = {(method.upper(), path) for path, item in DOCUMENT["paths"].items() for method in item}

    assert served == documented == {("POST", REGISTER), ("GET", CA), ("GET", WHOAMI), ("GET", OPENAPI),
                                    ("GET", CRL), ("POST", RENEW), ("GET", CACERTS), ("POST", ENROLL),
                                    ("POST", REENROLL), ("GET", CSRATTRS), ("GET", SCRIPT)}


# Per field: values on or just inside the edges of its rule, and values just past them.
PERMISSION = {"resource": "plant/#", "operation": "read", "context": "mqtt"}
KEEPS_RULE = {
    "username": ["abc", "a" * 64, "0.a_B", "Z__.."],
    "password": ["p" * 5, "p" * 1024, "pass word \u00e9\U0001f600"],
    "context": [None, "", "c" * 4094, {}, {"site": "line 3", "rack": [1, 2]}],
    "roles": [[], [f"r{i}" for i in range(32)], ["r" * 64], ["a b", "\u00dcn\u00ef", "\u4e2d"]],
    "permissions": [[], [dict(PERMISSION, resource=f"r{i}") for i in range(64)],
                    [dict(PERMISSION, resource="x" * 256)],
                    [dict(PERMISSION, operation="write", context="http"), dict(PERMISSION, operation="readWrite")]],
    "csr": [None, "", "-----BEGIN CERTIFICATE REQUEST-----"],
}
BREAKS_RULE = {
    "username": ["ab", "a" * 65, "", "abc\n", "_abc", ".abc", "ab-c", "ab\u00e9", "ab c", "ab\u0661", "\u212aab"],
    "password": ["", "p" * 4, "p" * 1025],
    "context": ["c" * 4095],
    "roles": [[f"r{i}" for i in range(33)], ["a", "a"], [""], ["r" * 65], ["a\x85b"], ["a\u2028b"], ["a\u00adb"],
              [3], [None]],
    "permissions": [
        [dict(PERMISSION, resource=f"r{i}") for i in range(65)], [PERMISSION, PERMISSION],
        [dict(PERMISSION, operation="delete")], [dict(PERMISSION, operation="READ")],
        [dict(PERMISSION, context="ftp")],
        [dict(PERMISSION, qos=1)], [dict(PERMISSION, resource="")], [dict(PERMISSION, resource="x" * 257)],
        [dict(PERMISSION, resource="a\tb")], [{"resource": "r", "operation": "read"}], ["read"], [None]],
    "csr": [0, ["x"], {"pem": "x"}],
    "another": [1],
}
WRONG_TYPES = [None, True, 0, 1.5, "x", [], {}, ["x"], {"x": 1}]
REQUIRED = ("username", "password")
GOOD = {"username": "abc", "password": "p" * 5}
# What the document can only describe in words, not in JSON Schema.
RULES_IN_WORDS = ("must hold printable characters only", "bytes as JSON", "levels deep")


def disagreement(document) -> str | None:
    """How the document's request schema and the server's validation disagree on
    ``document``, if they do: the document must never refuse what the server
    accepts, and what it accepts the server accepts too, but for the rules it
    can only state in words."""
    schema_accepts = component_validator("RegistrationRequest").is_valid(document)
    try:
        parse_registration(json.dumps(document).encode())
    except InvalidRequest as invalid:
        if schema_accepts and not all(any(rule in e.message for rule in RULES_IN_WORDS) for e in invalid.errors):
            return f"the document accepts what the server refuses ({invalid})"
    else:
        if not schema_accepts:
            return "the document refuses what the server accepts"
    return None


def test_request_schema_agrees_with_the_servers_validation_on_every_edge():
    cases = [dict(GOOD, **{name: value}) for name, values in KEEPS_RULE.items() for value in values]
    cases += [dict(GOOD, **{name: value}) for name, values in BREAKS_RULE.items() for value in values]
    cases += [dict(GOOD, **{name: value}) for name in [*KEEPS_RULE, "another"] for value in WRONG_TYPES]
    cases += [{key: value for key, value in GOOD.items() if key != name} for name in REQUIRED]

    found = [(document, problem) for document in cases if (problem := disagreement(document))]

    assert found == []


@st.composite
def near_valid_documents(draw):
    """A document that keeps every rule, then one or more fields given any of their
    edge values, good or bad, or a wrong type, or left out."""
    document = draw(st.fixed_dictionaries(
        {name: st.sampled_from(KEEPS_RULE[name]) for name in REQUIRED},
        optional={name: st.sampled_from(KEEPS_RULE[name]) for name in KEEPS_RULE if name not in REQUIRED}))
    for name in draw(st.lists(st.sampled_from(sorted(BREAKS_RULE)), min_size=1, max_size=3)):
        pool = BREAKS_RULE[name] + KEEPS_RULE.get(name, []) + WRONG_TYPES
        if draw(st.booleans()):
            document[name] = draw(st.sampled_from(pool))
        else:
            document.pop(name, None)
    return document


@settings(max_examples=150, derandomize=True, deadline=None, database=None)
@given(near_valid_documents())
def test_request_schema_agrees_with_the_servers_validation_on_combinations(document):
    assert disagreement(document) is None


# ------------------------------------------------- every documented response, for real


class Observed:
    """Sends requests over HTTPS and checks each reply against the document."""

    def __init__(self, session: requests.Session, base_url: str):
        self.session, self.base_url = session, base_url
        self.statuses: dict[tuple[str, str], set[int]] = defaultdict(set)

    def send(self, method: str, path: str, **kwargs) -> requests.Response:
        response = self.session.request(method, self.base_url + path, timeout=30, **kwargs)
        SCHEMA[path][method].Case().validate_response(response, checks=CONFORMANCE)
        declared = resolved(DOCUMENT["paths"][path][method.lower()]["responses"][str(response.status_code)])
        # Retry-After exactly where the document says the server sends it.
        assert ("Retry-After" in declared.get("headers", {})) == ("Retry-After" in response.headers)
        self.statuses[(method, path)].add(response.status_code)
        return response

    def register(self, document: dict) -> requests.Response:
        return self.send("POST", REGISTER, json=document)


def test_every_documented_response_is_real_and_conforms(server, service, session, tmp_path):
    api = Observed(session, server.url)
    csr, key = make_csr("dev_one")
    dev_one = {"username": "dev_one", "password": "dev-one-pw", "roles": ["telemetry"], "csr": csr,
               "permissions": [{"resource": "plant/#", "operation": "read", "context": "mqtt"}]}
    dev_two = {"username": "dev_two", "password": "dev-two-pw", "csr": make_csr("dev_two", key)[0]}
    dev_three = {"username": "dev_three", "password": "dev-three-pw", "context": {"site": "line 3"}}

    assert api.send("GET", OPENAPI).json() == DOCUMENT
    assert api.send("GET", CA).text == service.ca.certificate_pem
    assert api.register(dev_one).status_code == 423
    assert api.send("POST", REGISTER, data=b'{"username": "dev_one"}',
                    headers={"Content-Type": "text/plain"}).status_code == 415
    assert api.send("POST", REGISTER, data=b" " * (MAX_BODY_BYTES + 1),
                    headers={"Content-Type": "application/json"}).status_code == 413
    assert api.register({"username": "dev_one"}).json()["errors"] == [
        {"field": "password", "message": "is required"}]

    service.open("tester")
    pending = api.register(dev_one)
    assert (pending.status_code, pending.json()["status"]) == (202, "pending")
    assert len(pending.json()["fingerprint"]) == 64
    assert api.register({**dev_one, "roles": ["admin"]}).status_code == 409  # a pending request never changes
    assert api.register(dev_two).status_code == 409  # the same key under another username
    service.grant("dev_one", "tester")
    granted = api.register(dev_one)
    assert (granted.status_code, granted.json()["username"]) == (201, "dev_one")

    certificate_file, key_file = tmp_path / "dev_one.crt", tmp_path / "dev_one.key"
    certificate_file.write_text(granted.json()["certificate"])
    key_file.write_bytes(key_pem(key))
    assert api.send("GET", WHOAMI, auth=("dev_one", "dev-one-pw")).json()["authenticatedBy"] == "password"
    assert api.send("GET", WHOAMI, cert=(str(certificate_file), str(key_file))).json()["authenticatedBy"] \
        == "certificate"
    assert api.send("GET", WHOAMI).status_code == 401

    mtls = {"cert": (str(certificate_file), str(key_file))}
    renewed = api.send("POST", RENEW, json={"csr": make_csr("dev_one")[0]}, **mtls)
    assert (renewed.status_code, renewed.json()["status"]) == (201, "granted")
    dev_four_csr, dev_four_key = make_csr("dev_four")
    assert api.register({"username": "dev_four", "password": "dev-four-pw", "csr": dev_four_csr}).status_code == 202
    as_dev_one = {"auth": ("dev_one", "dev-one-pw")}
    assert api.send("POST", RENEW, json={"csr": make_csr("dev_one", dev_four_key)[0]}, **as_dev_one).status_code \
        == 409  # a key registered to another client
    assert api.send("POST", RENEW, json={"csr": "nope"}, **as_dev_one).status_code == 400
    assert api.send("POST", RENEW, json={"csr": csr}).status_code == 401
    assert api.send("POST", RENEW, data=b"{}", headers={"Content-Type": "text/plain"}, **as_dev_one).status_code \
        == 415
    assert api.send("POST", RENEW, data=b" " * (MAX_BODY_BYTES + 1), headers={"Content-Type": "application/json"},
                    **as_dev_one).status_code == 413
    assert api.send("GET", CRL).headers["Content-Type"] == "application/pkix-crl"

    assert api.register(dev_three).status_code == 202
    service.reject("dev_three", "tester", "not one of ours")
    assert api.register(dev_three).json() == {"status": "rejected", "message": "not one of ours"}
    assert api.send("POST", RENEW, json={"csr": csr}, auth=("dev_three", "dev-three-pw")).status_code == 403
    wrong = {**dev_three, "password": "guessed-pw"}
    allowed = service.limits.failures_per_username_and_address
    assert [api.register(wrong).status_code for _ in range(allowed + 1)] == [409] * allowed + [429]
    assert api.send("GET", WHOAMI, auth=("dev_three", "guessed-pw")).status_code == 429
    assert api.send("POST", RENEW, json={"csr": csr}, auth=("dev_three", "guessed-pw")).status_code == 429

    assert dict(api.statuses) == documented_statuses(lambda path: path not in EST_PATHS)


def documented_statuses(include) -> dict[tuple[str, str], set[int]]:
    """The statuses the document lists for each operation on the paths ``include`` accepts."""
    return {(method.upper(), path): {int(status) for status in operation["responses"]} - UNAVAILABLE
            for path, item in DOCUMENT["paths"].items() if include(path) for method, operation in item.items()}


def resolved(item: dict) -> dict:
    """A response object, its ``$ref`` (to components/responses) followed."""
    if "$ref" in item:
        return DOCUMENT["components"]["responses"][item["$ref"].rpartition("/")[2]]
    return item


def test_unknown_paths_and_methods_get_the_documented_json_errors(session, server):
    error = component_validator("Error")
    not_found = session.get(server.url + "/api/client-registry/list", timeout=30)
    not_allowed = session.delete(server.url + REGISTER, timeout=30)

    assert not_found.status_code == 404
    assert not_allowed.status_code == 405
    assert not_allowed.headers["Allow"] == "POST"
    for response in (not_found, not_allowed):
        assert response.headers["Content-Type"] == "application/json"
        error.validate(response.json())


def test_conformance_checks_catch_a_reply_the_document_does_not_describe(session, server):
    """Guards the test above: a real 401 is not a documented answer of the register operation."""
    response = session.get(server.url + WHOAMI, timeout=30)

    with pytest.raises(FailureGroup, match="Undocumented status code"):
        SCHEMA[REGISTER]["POST"].Case().validate_response(response, checks=CONFORMANCE)


# ------------------------------------------------------------------------ schemathesis


@pytest.fixture(params=["locked", "open"])
def registry_state(request, service):
    """The fuzzing runs once against a locked registry and once against an open one,
    so that new requests get 423 in one and 202/409 in the other."""
    if request.param == "open":
        service.open("tester")
    return request.param


# EST's enrolment bodies are base64 of DER (application/pkcs10), which schemathesis
# cannot generate; those operations are checked above, with real CSRs, instead.
@SCHEMA.exclude(path_regex=r"^/\.well-known/est/simple").parametrize()
@settings(max_examples=50, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_fuzzed_requests_get_documented_answers(case, server, registry_state, session):
    case.call_and_validate(base_url=server.url, session=session, verify=session.verify, checks=FUZZ_CHECKS)


# ------------------------------------------------------- bytes no client library would send


def test_non_ascii_basic_credentials_get_401(client):
    reply = client.request("GET", WHOAMI, headers={"Authorization": "Basic \u00e9"})

    assert reply.status == 401
    assert reply.json["status"] == "error"


def test_malformed_chunked_body_gets_400(server, tmp_path):
    head = (f"POST {REGISTER} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    status, headers, body = raw_exchange(server.port, tmp_path / "data" / CA_CERT_FILE, head.encode() + b"zz\r\n")

    assert status == 400
    assert headers["content-type"] == "application/json"
    component_validator("InvalidRequest").validate(json.loads(body))


def raw_exchange(port: int, ca_file: Path, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes no HTTP client library would write; read the answer until the server closes."""
    context = ssl.create_default_context(cafile=str(ca_file))
    with socket.create_connection(("127.0.0.1", port), timeout=30) as plain, \
            context.wrap_socket(plain, server_hostname="localhost") as tls:
        tls.sendall(request)
        received = b""
        while chunk := tls.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip()
               for name, _, value in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body
