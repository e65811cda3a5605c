"""Test helpers: a controllable clock, CSRs of every kind, and a small HTTPS client."""

from __future__ import annotations

import http.client
import json
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa

from common.csr import build_csr

REGISTER = "/api/client-registry/register"


class FakeClock:
    """The one seam for time: starts at the real time (so certificates are
    valid for openssl), moves only when told."""

    def __init__(self, start: float | None = None):
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


_KEYS: dict[str, object] = {}


def make_key(kind: str = "ec"):
    """A private key; the slow ones are made once per test session."""
    makers = {
        "ec": lambda: ec.generate_private_key(ec.SECP256R1()),
        "p384": lambda: ec.generate_private_key(ec.SECP384R1()),
        "p521": lambda: ec.generate_private_key(ec.SECP521R1()),
        "p192": lambda: ec.generate_private_key(ec.SECP192R1()),
        "ed25519": ed25519.Ed25519PrivateKey.generate,
        "rsa2048": lambda: rsa.generate_private_key(65537, 2048),
        "rsa1024": lambda: rsa.generate_private_key(65537, 1024),
        "dsa": lambda: dsa.generate_private_key(2048),
    }
    if kind in ("ec", "p384", "p521", "ed25519", "p192"):
        return makers[kind]()
    if kind not in _KEYS:
        _KEYS[kind] = makers[kind]()
    return _KEYS[kind]


def make_csr(
    common_name: str | None,
    key=None,
    *,
    extra_subject: list[x509.NameAttribute] = (),
    sans: list[x509.GeneralName] = (),
    extensions: list[tuple[x509.ExtensionType, bool]] = (),
    digest=hashes.SHA256(),
) -> tuple[str, object]:
    """(PEM text, private key) of a CSR; ``common_name=None`` leaves the CN out."""
    key = key if key is not None else make_key("ec")
    return build_csr(key, common_name, extra_subject=extra_subject, sans=sans, extensions=extensions,
                     digest=digest), key


def key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


class Client:
    """One HTTP(S) request per call, trusting only the registry's CA file."""

    def __init__(self, url: str, ca_file: Path | None = None, cert: tuple[Path, Path] | None = None):
        parts = urlsplit(url)
        self.host, self.port, self.tls = parts.hostname, parts.port, parts.scheme == "https"
        self.context = None
        if self.tls:
            self.context = ssl.create_default_context(cafile=str(ca_file))
            if cert is not None:
                self.context.load_cert_chain(*map(str, cert))

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> Reply:
        if self.tls:
            connection = http.client.HTTPSConnection("localhost", self.port, context=self.context, timeout=30)
        else:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()

    def register(self, document: dict | None = None, *, raw: bytes | None = None,
                 content_type: str = "application/json") -> Reply:
        body = raw if raw is not None else json.dumps(document).encode()
        return self.request("POST", REGISTER, body, {"Content-Type": content_type})

    def register_as_an_agent(self, document: dict, attempts: int = 30) -> Reply:
        """``register``, coming back after Retry-After while the registry answers 503 (busy
        hashing other registrations), as the enrolment tool does."""
        for _ in range(attempts - 1):
            reply = self.register(document)
            if reply.status != 503:
                return reply
            time.sleep(int(reply.headers["retry-after"]))
        return self.register(document)


def _der(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        encoded_length = bytes([length])
    else:
        raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
        encoded_length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + encoded_length + content


def handmade_csr(subject: x509.Name, public_key, algorithm_oid: str, sign) -> str:
    """A CSR assembled byte by byte, for what cryptography refuses to build:
    SHA-1 or MD5 signatures, keys we hold no private half of, bad signatures.
    ``sign(to_be_signed) -> bytes`` makes the signature."""
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    info = _der(0x30, _der(0x02, b"\x00") + subject.public_bytes() + spki + _der(0xA0, b""))
    oid = x509.ObjectIdentifier(algorithm_oid)
    arcs = [int(a) for a in oid.dotted_string.split(".")]
    body = bytes([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.insert(0, 0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(chunk)
    algorithm = _der(0x30, _der(0x06, body) + (b"\x05\x00" if "113549" in algorithm_oid else b""))
    der = _der(0x30, info + algorithm + _der(0x03, b"\x00" + sign(info)))
    import base64 as _b64

    text = _b64.encodebytes(der).decode("ascii")
    return f"-----BEGIN CERTIFICATE REQUEST-----\n{text}-----END CERTIFICATE REQUEST-----\n"
