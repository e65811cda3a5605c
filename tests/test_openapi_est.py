"""The OpenAPI document's EST operations against the real server: every answer it
lists for them is one the server really gives, with the media type and headers it
describes (the conformance checks of tests/test_openapi.py)."""

from __future__ import annotations

from server.validation import MAX_BODY_BYTES
from tests.helpers import make_csr, make_key
from tests.processes import ROOT
from tests.test_openapi import (
    CACERTS,
    CSRATTRS,
    ENROLL,
    EST_PATHS,
    REENROLL,
    SCRIPT,
    Observed,
    documented_statuses,
    session,  # noqa: F401 (a fixture)
)


def est_csr(common_name: str, key=None) -> str:
    """EST's request body: base64 of the DER CSR, line breaks kept (the PEM without its armour)."""
    pem, _ = make_csr(common_name, key)
    return "".join(line + "\n" for line in pem.splitlines() if not line.startswith("-----"))


def test_every_documented_est_response_is_real_and_conforms(server, service, session, tmp_path):
    api = Observed(session, server.url)
    pkcs10 = {"Content-Type": "application/pkcs10"}
    key = make_key()
    body = est_csr("gw_one", key)
    as_gw_one = {"auth": ("gw_one", "gw-one-pw"), "headers": pkcs10}

    assert api.send("GET", CACERTS).headers["Content-Transfer-Encoding"] == "base64"
    assert api.send("GET", CSRATTRS).content == b""
    assert api.send("GET", SCRIPT).content == (ROOT / "client" / "est-enroll.sh").read_bytes()
    assert api.send("POST", ENROLL, data=body, headers=pkcs10).status_code == 401
    assert api.send("POST", ENROLL, data=body, **as_gw_one).status_code == 423
    assert api.send("POST", ENROLL, data=body, auth=("gw_one", "pw"), headers=pkcs10).status_code == 400
    assert api.send("POST", ENROLL, data=body, auth=("gw_one", "gw-one-pw"),
                    headers={"Content-Type": "application/json"}).status_code == 415
    assert api.send("POST", ENROLL, data="A" * (MAX_BODY_BYTES + 1), **as_gw_one).status_code == 413
    service.open("tester")
    assert api.send("POST", ENROLL, data=body, **as_gw_one).status_code == 202
    assert api.send("POST", ENROLL, data=est_csr("gw_one", key), **as_gw_one).status_code == 409
    service.grant("gw_one", "tester")
    assert api.send("POST", ENROLL, data=body, **as_gw_one).status_code == 200

    assert api.send("POST", REENROLL, data=body, headers=pkcs10).status_code == 401
    assert api.send("POST", REENROLL, data="%%", **as_gw_one).status_code == 400
    assert api.send("POST", REENROLL, data=body, auth=("gw_one", "gw-one-pw"),
                    headers={"Content-Type": "text/plain"}).status_code == 415
    assert api.send("POST", REENROLL, data="A" * (MAX_BODY_BYTES + 1), **as_gw_one).status_code == 413
    assert api.send("POST", REENROLL, data=est_csr("gw_one"), **as_gw_one).status_code == 200
    gw_two_key = make_key()
    assert api.send("POST", ENROLL, data=est_csr("gw_two", gw_two_key), auth=("gw_two", "gw-two-pw"),
                    headers=pkcs10).status_code == 202
    assert api.send("POST", REENROLL, data=est_csr("gw_one", gw_two_key), **as_gw_one).status_code == 409
    renewed_elsewhere = {"data": est_csr("gw_two"), "auth": ("gw_two", "gw-two-pw"), "headers": pkcs10}
    assert api.send("POST", REENROLL, **renewed_elsewhere).status_code == 403  # pending, not granted
    service.reject("gw_two", "tester")
    assert api.send("POST", ENROLL, data=est_csr("gw_two", gw_two_key), auth=("gw_two", "gw-two-pw"),
                    headers=pkcs10).status_code == 403  # rejected
    allowed = service.limits.failures_per_username_and_address
    wrong = {"data": body, "auth": ("gw_one", "guessed-pw"), "headers": pkcs10}
    assert [api.send("POST", ENROLL, **wrong).status_code for _ in range(allowed + 1)] == [401] * allowed + [429]
    assert api.send("POST", REENROLL, **wrong).status_code == 429

    assert dict(api.statuses) == documented_statuses(lambda path: path in EST_PATHS)
