"""``main.py renew``: renew this device's certificate before it expires; for a cron job or a systemd timer.

Reads ``NAME.key``, ``NAME.crt`` and ``ca.crt`` (and ``NAME.password`` when
there) from ``--out``. While more than ``--within`` days are left it does
nothing. Otherwise it makes a new key (or keeps the old one with
``--keep-key``), asks the registry over mutual TLS with the current
certificate, falls back to the password when the certificate has expired or
was revoked, checks what it got, and only then replaces the files.

Exit status: 0 renewed, or not due; 1 failed (one line says why); 2 usage;
5 the registry or what it issued does not verify against the trusted CA.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from client.console import say
from client.enroll import PASSWORD_VARIABLE, INTERRUPTED
from client.errors import FAILED, GRANTED, EnrollError
from client.grant import CA_FILE, checked_certificate
from client.identity import MAX_KEY_FILE_BYTES, read_key_file, read_password_file
from client.transport import Registry, RegistryUrl, Reply, Unreachable
from client.trust import TrustedCa, read_ca_file
from common.api_paths import RENEW_PATH
from common.csr import build_csr
from common.files import OWNER_ONLY, PUBLIC, write_atomically

DEFAULT_WITHIN_DAYS = 30
REQUEST_SECONDS = 30

DESCRIPTION = """\
Renew this device's certificate when fewer than --within days are left: a new
key (or the same with --keep-key), over mutual TLS with the current
certificate, or with the password (NAME.password in --out, else
$CLIENT_REGISTRY_PASSWORD) once the certificate has expired or was revoked.
The files in --out are replaced only after the new certificate checks out.

exit status: 0 renewed or not due; 1 failed (one line says why); 2 usage;
5 the registry's CA is not trusted"""


def add_renew_parser(subparsers) -> argparse.ArgumentParser:
    renew = subparsers.add_parser("renew", help="renew this device's certificate (agent side)",
                                  description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    renew.add_argument("--url", required=True, help="the registry, e.g. https://registry.plant:8443")
    renew.add_argument("--out", type=Path, required=True, metavar="DIR",
                       help="where enroll wrote NAME.key, NAME.crt and ca.crt")
    renew.add_argument("--username", required=True, metavar="NAME", help="the name the files are called by")
    renew.add_argument("--ca-file", type=Path, metavar="PEM", help="the registry's CA (default: ca.crt in --out)")
    renew.add_argument("--within", type=_days, default=DEFAULT_WITHIN_DAYS, metavar="DAYS",
                       help=f"renew when fewer than this many days are left (default {DEFAULT_WITHIN_DAYS})")
    renew.add_argument("--keep-key", action="store_true", help="keep the current key instead of making a new one")
    return renew


def run_renew(args: argparse.Namespace) -> int:
    """Renew as ``args`` say; the exit status. Expected failures print one line, never a traceback."""
    try:
        return _renew(args)
    except EnrollError as error:
        print(f"renew: {error}", file=sys.stderr, flush=True)
        return error.exit_status
    except Unreachable as error:
        print(f"renew: cannot reach the registry: {error}; the next run tries again", file=sys.stderr, flush=True)
        return FAILED
    except OSError as error:
        print(f"renew: cannot write {error.filename or args.out}: {error.strerror or error}", file=sys.stderr)
        return FAILED
    except KeyboardInterrupt:
        return INTERRUPTED


def _renew(args: argparse.Namespace) -> int:
    url = RegistryUrl.parse(args.url)
    key_path, certificate_path = args.out / f"{args.username}.key", args.out / f"{args.username}.crt"
    trusted = read_ca_file(args.ca_file or args.out / CA_FILE)
    current_key = read_key_file(key_path)
    current = _read_certificate(certificate_path)
    now = datetime.now(timezone.utc)
    left = current.not_valid_after_utc - now
    if left > timedelta(days=args.within):
        say(f"not due: {args.username}'s certificate has {left.days} days left; renews within {args.within}")
        return GRANTED
    key = current_key if args.keep_key else ec.generate_private_key(ec.SECP256R1())
    request = {"csr": build_csr(key, args.username)}
    reply = None
    if now < current.not_valid_after_utc:
        reply = _by_certificate(url, trusted, certificate_path, key_path, request)
    if reply is None or reply.status == 401:  # expired, or revoked: the password still works
        reply = _by_password(url, trusted, args.out, args.username, request)
    if reply.status != 201:
        raise EnrollError(f"the registry refused the renewal ({reply.status}): {reply.message()}")
    certificate, _ = checked_certificate(reply.json(), key.public_key(), trusted)
    # The key first: a certificate is never on disk without the key it belongs to
    # having been written before it.
    if not args.keep_key:
        write_atomically(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()), OWNER_ONLY)
    write_atomically(certificate_path, certificate.public_bytes(serialization.Encoding.PEM), PUBLIC)
    say(f"renewed: serial {format(certificate.serial_number, 'x')}, valid until "
        f"{certificate.not_valid_after_utc:%Y-%m-%d %H:%M} UTC; wrote {certificate_path}"
        + ("" if args.keep_key else f" and {key_path}"))
    return GRANTED


def _by_certificate(url: RegistryUrl, trusted: TrustedCa, certificate_path: Path, key_path: Path,
                    request: dict) -> Reply:
    context = trusted.context()
    context.load_cert_chain(certificate_path, key_path)
    return Registry(url, context).post_json(RENEW_PATH, request, REQUEST_SECONDS)


def _by_password(url: RegistryUrl, trusted: TrustedCa, out: Path, username: str, request: dict) -> Reply:
    password_path = out / f"{username}.password"
    password = read_password_file(password_path) if password_path.exists() else os.environ.get(PASSWORD_VARIABLE)
    if not password:
        raise EnrollError(f"the certificate has expired or was revoked, and there is no password to renew with "
                          f"({password_path} or ${PASSWORD_VARIABLE})")
    token = base64.b64encode(f"{username}:{password}".encode("utf-8")).decode("ascii")
    return Registry(url, trusted.context()).post_json(RENEW_PATH, request, REQUEST_SECONDS,
                                                      {"Authorization": f"Basic {token}"})


def _read_certificate(path: Path) -> x509.Certificate:
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_KEY_FILE_BYTES + 1)
        return x509.load_pem_x509_certificate(data)
    except OSError as error:
        raise EnrollError(f"cannot read {path}: {error.strerror or error}") from None
    except ValueError:
        raise EnrollError(f"{path} is not a PEM certificate") from None


def _days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        days = -1.0
    if not 0 <= days < 100_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days")
    return days
