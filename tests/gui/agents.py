"""What the tests' agents send: registration documents with real CSRs."""

from __future__ import annotations

from cryptography import x509

from tests.helpers import Client, Reply, make_csr

PASSWORD = "agent-password-1"


def document(username: str, *, csr: bool = True, roles=("operator",), permissions=None, context=None,
             extra_subject=(), sans=()) -> dict:
    """A registration request; with an EC P-256 CSR for ``username`` unless ``csr=False``."""
    body = {"username": username, "password": PASSWORD, "roles": list(roles)}
    body["permissions"] = permissions if permissions is not None else [
        {"resource": "plant/line1/#", "operation": "read", "context": "mqtt"},
        {"resource": "plant/line1/cmd", "operation": "write", "context": "mqtt"},
    ]
    if context is not None:
        body["context"] = context
    if csr:
        body["csr"], _ = make_csr(username, extra_subject=list(extra_subject), sans=list(sans))
    return body


def register(client: Client, body: dict, expected: int = 202) -> Reply:
    reply = client.register(body)
    assert reply.status == expected, reply.body
    return reply


def dns(name: str) -> x509.DNSName:
    return x509.DNSName(name)
