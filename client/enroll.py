"""``main.py enroll``: get this device's credentials from a Client Registry with one command.

Makes (or reuses) a key and a CSR, pins the registry's CA, registers and polls
until an administrator decides, then writes ``NAME.key``, ``NAME.crt`` and
``ca.crt`` into ``--out``. Only the standard library and ``cryptography``: this
side runs on devices, without Qt and without the server's packages.

Exit status: 0 granted; 1 anything else (one line on standard error); 2 usage;
3 rejected; 4 timed out; 5 the registry's CA is not trusted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from client.console import say
from client.errors import FAILED, GRANTED, EnrollError
from client.files import prepare_folder
from client.grant import describe_grant, save_grant
from client.identity import prepare_identity, read_key_file, read_password_file
from client.polling import Patience, StateLine, poll_until_decided
from client.transport import Registry, RegistryUrl
from client.trust import fetch_pinned_ca, read_ca_file
from common.fingerprints import normalize_fingerprint

PASSWORD_VARIABLE = "CLIENT_REGISTRY_PASSWORD"
DEFAULT_TIMEOUT_SECONDS = 3600
INTERRUPTED = 130  # what a shell reports for Ctrl-C
DESCRIPTION = """\
Get this device's credentials from a Client Registry: make (or reuse) a key and
a CSR, check the registry's CA, register, wait for an administrator to decide,
then write NAME.key, NAME.crt and ca.crt into --out.

exit status: 0 granted; 1 failed (one line says why); 2 usage; 3 rejected;
4 timed out; 5 the registry's CA is not trusted"""


def add_enroll_parser(subparsers) -> argparse.ArgumentParser:
    enroll = subparsers.add_parser(
        "enroll", help="enrol this device (agent side)", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    enroll.add_argument("--url", required=True, help="the registry, e.g. https://registry.plant:8443")
    enroll.add_argument("--username", required=True, type=_username, metavar="NAME",
                        help="the name to register; also the certificate's Common Name and the files' names")
    enroll.add_argument("--password-file", type=Path, metavar="FILE",
                        help=f"the password on the file's first line (else ${PASSWORD_VARIABLE}; else one is "
                             "generated and kept owner-only in --out as NAME.password)")
    trust = enroll.add_mutually_exclusive_group()
    trust.add_argument("--ca-fingerprint", type=_fingerprint, metavar="HEX",
                       help="SHA-256 of the registry's CA certificate, as 'main.py admin ca' prints it "
                            "(colons and case do not matter); without this or --ca-file the tool prints the "
                            "fingerprint and stops")
    trust.add_argument("--ca-file", type=Path, metavar="PEM", help="the registry's CA certificate, trusted as it is")
    enroll.add_argument("--role", action="append", default=[], metavar="ROLE", help="a role to ask for (repeatable)")
    enroll.add_argument("--permission", action="append", default=[], type=_permission,
                        metavar="CONTEXT:OPERATION:RESOURCE",
                        help="a permission to ask for (repeatable): CONTEXT mqtt or http, OPERATION read, write "
                             "or readWrite; RESOURCE is the rest and may contain colons")
    enroll.add_argument("--context", type=_context, metavar="TEXT",
                        help="what this device is, for the administrator: a JSON object is sent as an object, "
                             "anything else as text")
    enroll.add_argument("--key", type=Path, metavar="FILE",
                        help="use this PEM private key (RSA 2048-8192, EC P-256/384/521 or Ed25519) "
                             "instead of making an EC P-256 key")
    enroll.add_argument("--out", type=Path, default=Path("."), metavar="DIR",
                        help="where the key, CSR, password and certificates are kept (default: here)")
    enroll.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT_SECONDS, metavar="SECONDS",
                        help=f"give up after this long (default {DEFAULT_TIMEOUT_SECONDS}); "
                             "running the same command again goes on with the same request")
    return enroll


def run_enroll(args: argparse.Namespace) -> int:
    """Enrol as ``args`` say; the exit status. Expected failures print one line, never a traceback."""
    try:
        return _enroll(args)
    except EnrollError as error:
        _complain(str(error))
        return error.exit_status
    except OSError as error:  # the registry's errors are EnrollErrors; this is the local disk
        _complain(f"cannot write {error.filename or args.out}: {error.strerror or error}")
        return FAILED
    except KeyboardInterrupt:
        _complain("interrupted; running the same command again goes on with the same request")
        return INTERRUPTED


def _enroll(args: argparse.Namespace) -> int:
    url = RegistryUrl.parse(args.url)
    given_key = read_key_file(args.key) if args.key else None
    given_password = _given_password(args.password_file)
    patience, states = Patience(args.timeout), StateLine()

    trusted = read_ca_file(args.ca_file) if args.ca_file else fetch_pinned_ca(
        url, args.ca_fingerprint, patience, states)
    say(f"CA: trusted, fingerprint {trusted.fingerprint}")

    prepare_folder(args.out)
    identity = prepare_identity(args.username, args.out, given_key, given_password)
    request = {"username": identity.username, "password": identity.password, "csr": identity.csr_pem,
               "roles": args.role, "permissions": args.permission}
    if args.context is not None:
        request["context"] = args.context

    granted = poll_until_decided(Registry(url, trusted.context()), request, identity.fingerprint, patience, states)
    written = save_grant(granted, identity, trusted, args.out)
    say(f"granted: {describe_grant(granted)}")
    say("wrote " + ", ".join(map(str, written)))
    return GRANTED


def _given_password(password_file: Path | None) -> str | None:
    if password_file is not None:
        return read_password_file(password_file)
    return os.environ.get(PASSWORD_VARIABLE) or None


def _complain(line: str) -> None:
    print(f"enroll: {line}", file=sys.stderr, flush=True)


# ------------------------------------------------ argument types (argparse: exit 2)

def _username(text: str) -> str:
    # The registry decides what a valid username is; here only what a file name needs,
    # since NAME.key and friends are written before the registry is asked.
    if not text or text.startswith(".") or any(c in text for c in "/\\\0") or not text.isprintable():
        raise argparse.ArgumentTypeError(f"{text!r} cannot be a file name")
    return text


def _fingerprint(text: str) -> str:
    try:
        return normalize_fingerprint(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _permission(text: str) -> dict:
    # The resource is everything after the second colon: MQTT topics and URLs hold colons.
    parts = text.split(":", 2)
    if len(parts) != 3 or not all(parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not CONTEXT:OPERATION:RESOURCE, e.g. mqtt:read:plant/line1/#")
    context, operation, resource = parts
    return {"resource": resource, "operation": operation, "context": context}


def _context(text: str) -> str | dict:
    try:
        document = json.loads(text)
    except ValueError:
        return text
    return document if isinstance(document, dict) else text


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return seconds
