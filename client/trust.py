"""Trusting the registry's CA: pinned by fingerprint, or given as a file.

Before the tool trusts the CA it cannot verify the server, so the CA is fetched
once without verification and accepted only if its SHA-256 fingerprint (over
the certificate's DER, SPEC: Certificates) is the one the administrator gave
out. From then on every request verifies the server's certificate against that
CA, host name included.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from client.console import say
from client.errors import EnrollError, Untrusted, UsageError
from client.polling import Patience, StateLine, first_answer
from client.transport import Registry, RegistryUrl
from common.api_paths import CA_PATH
from common.fingerprints import certificate_fingerprint
from common.visible import make_visible


@dataclass(frozen=True)
class TrustedCa:
    certificate: x509.Certificate

    @property
    def fingerprint(self) -> str:
        return certificate_fingerprint(self.certificate)

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(Encoding.PEM)

    def context(self) -> ssl.SSLContext:
        """Verifies the server's certificate against this CA alone, and its host name."""
        context = ssl.create_default_context(cadata=self.pem.decode("ascii"))
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context


def read_ca_file(path: Path) -> TrustedCa:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read --ca-file {path}: {error.strerror or error}") from None
    try:
        return TrustedCa(_one_certificate(data, str(path)))
    except Untrusted as error:
        raise UsageError(str(error)) from None


def fetch_pinned_ca(url: RegistryUrl, expected: str | None, patience: Patience, states: StateLine) -> TrustedCa:
    """The registry's CA if its fingerprint is ``expected``; Untrusted otherwise, and
    when nothing is expected, after printing the fingerprint for the user to check."""
    registry = Registry(url, _unverified_context())
    reply = first_answer(lambda timeout: registry.get(CA_PATH, timeout), patience, states)
    if reply.status != 200:
        raise EnrollError(f"the registry did not hand out its CA certificate ({reply.status}: {reply.message()}); "
                          "is --url the registry's address?")
    ca = TrustedCa(_one_certificate(reply.body, "the registry's CA answer"))
    if expected is None:
        say(f"the registry's CA certificate is {make_visible(ca.certificate.subject.rfc4514_string())}, "
            f"SHA-256 fingerprint:\n  {ca.fingerprint}")
        say("check it on the registry host with: main.py admin ca  (or in the admin window), "
            "then run this command again with --ca-fingerprint " + ca.fingerprint)
        raise Untrusted("no --ca-fingerprint or --ca-file given, so the registry's CA is not trusted yet")
    if ca.fingerprint != expected:
        raise Untrusted(f"the registry's CA has the fingerprint {ca.fingerprint}, not {expected} as "
                        "--ca-fingerprint says; not trusting it (check --url and the fingerprint)")
    return ca


def _unverified_context() -> ssl.SSLContext:
    # Only for fetching the CA, whose fingerprint is checked before anything is sent.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _one_certificate(data: bytes, where: str) -> x509.Certificate:
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise Untrusted(f"{where} holds no PEM certificate") from None
    if len(certificates) != 1:
        raise Untrusted(f"{where} holds {len(certificates)} certificates, not exactly one")
    return certificates[0]
