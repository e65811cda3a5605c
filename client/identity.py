"""The device's identity in ``--out``: its private key, its CSR and its password.

ECDSA signatures are randomised, so a CSR made again on a rerun differs from the
first, and the registry refuses a pending request that changed (409). Everything
the request is made of is therefore written to ``--out`` before the first
request and reused whenever the tool runs again for the same username.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from client.console import say
from client.errors import EnrollError, UsageError
from common.csr import build_csr
from common.files import OWNER_ONLY, UnsafePath, read_secret, write_atomically
from common.fingerprints import key_fingerprint
from common.key_policy import CURVES, RSA_MAX_BITS, RSA_MIN_BITS

MAX_KEY_FILE_BYTES = 64 * 1024
MAX_PASSWORD_FILE_BYTES = 4096
GENERATED_PASSWORD_BYTES = 24  # 32 URL-safe characters

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class Identity:
    username: str
    key: PrivateKey
    key_path: Path
    csr_pem: str
    password: str

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.key.public_key())


def describe_key(key) -> str:
    """"RSA 2048", "EC P-256", "Ed25519"; UsageError for a key the registry would refuse."""
    if isinstance(key, rsa.RSAPrivateKey):
        if not RSA_MIN_BITS <= key.key_size <= RSA_MAX_BITS:
            raise UsageError(f"the RSA key has {key.key_size} bits; the registry accepts {RSA_MIN_BITS} to {RSA_MAX_BITS}")
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.name not in CURVES:
            raise UsageError(f"the EC key is on curve {key.curve.name}; the registry accepts P-256, P-384 and P-521")
        return f"EC {CURVES[key.curve.name][0]}"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "Ed25519"
    raise UsageError("the key is neither RSA, EC nor Ed25519, which are the types the registry accepts")


def read_key_file(path: Path) -> PrivateKey:
    """An unencrypted PEM private key of an accepted type, or UsageError saying what is wrong."""
    return _parse_key(path, _read_small(path, MAX_KEY_FILE_BYTES, UsageError))


def _parse_key(path: Path, data: bytes) -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise UsageError(f"{path} is encrypted; give the key unencrypted (it is stored owner-only)") from None
    except (ValueError, UnsupportedAlgorithm):
        raise UsageError(f"{path} holds no PEM private key that can be read") from None
    describe_key(key)
    return key


def read_password_file(path: Path) -> str:
    """The file's first line, without its line ending."""
    return _first_line(path, _read_small(path, MAX_PASSWORD_FILE_BYTES, UsageError))


def _first_line(path: Path, data: bytes) -> str:
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text") from None
    if not lines or not lines[0]:
        raise UsageError(f"{path} holds no password on its first line")
    return lines[0]


def prepare_identity(username: str, out: Path, given_key: PrivateKey | None, given_password: str | None) -> Identity:
    """Load the identity stored in ``out`` for ``username``, or make and store it."""
    key_path = out / f"{username}.key"
    key = _stored_or_new_key(key_path, given_key)
    csr_pem = _stored_or_new_csr(out / f"{username}.csr", username, key)
    password = given_password if given_password is not None else _stored_or_new_password(out / f"{username}.password")
    return Identity(username, key, key_path, csr_pem, password)


def _stored_or_new_key(path: Path, given: PrivateKey | None) -> PrivateKey:
    if os.path.lexists(path):
        try:
            stored = _parse_key(path, _read_stored_secret(path, MAX_KEY_FILE_BYTES))
        except UsageError as error:
            raise EnrollError(f"{error}; move it away or choose another --out") from None
        if given is not None and public_der(given.public_key()) != public_der(stored.public_key()):
            raise EnrollError(f"{path} already holds a different key than --key; "
                              "move it away or choose another --out")
        say(f"key: {describe_key(stored)} from {path}")
        return stored
    key = given if given is not None else ec.generate_private_key(ec.SECP256R1())
    write_atomically(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()), OWNER_ONLY)
    say(f"key: {'new ' if given is None else ''}{describe_key(key)}, stored in {path}")
    return key


def _stored_or_new_csr(path: Path, username: str, key: PrivateKey) -> str:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, username)])
    if path.exists():
        stored = _read_small(path, MAX_KEY_FILE_BYTES, EnrollError)
        try:
            csr = x509.load_pem_x509_csr(stored)
            if (csr.is_signature_valid and csr.subject == subject
                    and public_der(csr.public_key()) == public_der(key.public_key())):
                return stored.decode("ascii")
        except ValueError:
            pass  # unreadable: made anew below, like a CSR for another key
    pem = build_csr(key, username)
    write_atomically(path, pem.encode("ascii"), OWNER_ONLY)
    return pem


def _stored_or_new_password(path: Path) -> str:
    if os.path.lexists(path):
        return _first_line(path, _read_stored_secret(path, MAX_PASSWORD_FILE_BYTES))
    password = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
    write_atomically(path, (password + "\n").encode("ascii"), OWNER_ONLY)
    say(f"password: generated, stored in {path}")
    return password


def public_der(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _read_stored_secret(path: Path, limit: int) -> bytes:
    """A key or password the tool stored in ``--out`` earlier: owned by us, owner-only, not
    a link. Anything else may have been planted by another user, and is refused."""
    try:
        data = read_secret(path, limit)
    except UnsafePath as problem:
        raise EnrollError(f"{problem}; move it away or choose another --out") from None
    except OSError as problem:
        raise EnrollError(f"cannot read {path}: {problem.strerror or problem}") from None
    if len(data) > limit:
        raise EnrollError(f"{path} is larger than {limit} bytes")
    return data


def _read_small(path: Path, limit: int, error: type[EnrollError]) -> bytes:
    try:
        with open(path, "rb") as stream:
            data = stream.read(limit + 1)
    except OSError as problem:
        raise error(f"cannot read {path}: {problem.strerror or problem}") from None
    if len(data) > limit:
        raise error(f"{path} is larger than {limit} bytes")
    return data
