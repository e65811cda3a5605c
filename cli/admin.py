"""``main.py admin …``: the administrator's command line over the same service.

Works on the data folder whether or not the server runs: the database is the
single source of truth. Exit status: 0 done, 1 refused (one line on standard
error), 2 usage error (argparse's own).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cli import render
from cli import fleet
from cli.backup import add_backup_parsers, backup, restore
from cli.fleet import add_fleet_parsers
from cli.render import when
from common.files import UnsafePath
from common.visible import make_visible
from server.actors import admin_actor
from server.backup import BackupError
from server.ca import CaError
from server.lifecycle import REASONS
from server.service import (
    DEFAULT_OPEN_SECONDS,
    Refused,
    RegistrationService,
    RegistryUnavailable,
    fingerprint_argument,
)
from server.statuses import STATUSES
from wiring import open_registry, wait_for_registry

# A server started a moment ago (`main.py --headless … &` and then `admin open`)
# may not have created its registry yet: give it this long before refusing.
REGISTRY_GRACE_SECONDS = 5


def add_admin_parser(subparsers, parents: list[argparse.ArgumentParser]) -> None:
    admin = subparsers.add_parser("admin", parents=parents, help="administer the registry from the command line")
    commands = admin.add_subparsers(dest="admin_command", required=True, metavar="COMMAND")
    commands.add_parser("status", parents=parents, help="locked, or open and for how long")
    opener = commands.add_parser("open", parents=parents, help="accept new requests for a while")
    opener.add_argument("--duration", type=int, default=DEFAULT_OPEN_SECONDS, metavar="SECONDS",
                        help=f"how long to stay open (default {DEFAULT_OPEN_SECONDS})")
    commands.add_parser("lock", parents=parents, help="stop accepting new requests now")
    lister = commands.add_parser("list", parents=parents, help="list registrations")
    lister.add_argument("--status", choices=STATUSES)
    lister.add_argument("--json", action="store_true")
    shower = commands.add_parser("show", parents=parents, help="everything the review dialog shows about one registration")
    shower.add_argument("username")
    shower.add_argument("--json", action="store_true")
    add_fleet_parsers(commands, parents, _fingerprint)
    deleter = commands.add_parser("delete", parents=parents,
                                  help="delete a registration, freeing the name; revokes its certificates")
    deleter.add_argument("username")
    revoker = commands.add_parser("revoke", parents=parents,
                                  help="revoke a client's current certificate; it stays granted and can renew")
    revoker.add_argument("username")
    revoker.add_argument("--reason", choices=REASONS, default="unspecified", help="the CRL's reason code")
    lister = commands.add_parser("certificates", parents=parents, help="every certificate issued, oldest first")
    lister.add_argument("username", nargs="?", help="only those issued to this username")
    lister.add_argument("--json", action="store_true")
    commands.add_parser("crl", parents=parents, help="the current certificate revocation list, as PEM")
    ca = commands.add_parser("ca", parents=parents, help="the CA certificate's SHA-256 fingerprint")
    ca.add_argument("--pem", action="store_true", help="print the CA certificate instead")
    log = commands.add_parser("log", parents=parents, help="the audit trail, oldest first")
    log.add_argument("--json", action="store_true")
    add_backup_parsers(commands, parents)


def _fingerprint(text: str) -> str:
    try:
        return fingerprint_argument(text)
    except Refused as refusal:
        raise argparse.ArgumentTypeError(str(refusal)) from None


def run_admin(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir)
    if args.database is not None and args.admin_command in ("backup", "restore"):
        return _refuse("a PostgreSQL registry is backed up and restored with PostgreSQL's own tools "
                       "(pg_dump and pg_restore) and copies of the data folder's CA files")
    try:
        if args.admin_command == "restore":
            return _restore(data_dir, args)
        if args.database is None and not wait_for_registry(data_dir, REGISTRY_GRACE_SECONDS):
            return _refuse(f"there is no registry in {data_dir}; start the server once, or check --data-dir")
        service = open_registry(data_dir, database_url=args.database)
        if args.admin_command == "backup":
            print(backup(service, data_dir, args, _actor()))
            return 0
        if args.admin_command in _FLEET_COMMANDS:
            return _FLEET_COMMANDS[args.admin_command](service, args, _actor())
        return _COMMANDS[args.admin_command](service, args)
    except Refused as refusal:
        return _refuse(str(refusal))
    except (CaError, UnsafePath, BackupError) as error:
        return _refuse(str(error))
    except RegistryUnavailable as error:
        return _refuse(f"the database cannot be used right now ({error})")


def _restore(data_dir: Path, args) -> int:
    restore(data_dir, args)
    service = open_registry(data_dir)
    service.record_restore(_actor(), str(args.file))
    print(f"restored {args.file} into {data_dir}: CA {service.ca.fingerprint}, "
          f"{len(service.registrations())} registrations")
    return 0


def _refuse(reason: str) -> int:
    print(f"refused: {reason}", file=sys.stderr)
    return 1


def _actor() -> str:
    return admin_actor("cli")


def _status(service: RegistrationService, args) -> int:
    status = service.status()
    print(f"open, {status.seconds_left} seconds left" if status.is_open else "locked")
    return 0


def _open(service: RegistrationService, args) -> int:
    status = service.open(_actor(), args.duration)
    print(f"open until {when(status.open_until)} ({status.seconds_left} seconds)")
    return 0


def _lock(service: RegistrationService, args) -> int:
    service.lock(_actor())
    print("locked")
    return 0


def _list(service: RegistrationService, args) -> int:
    print(render.listing(service.registrations(args.status), args.json, render.summary_json, render.SUMMARY_HEADER,
                         render.summary_row))
    return 0


def _show(service: RegistrationService, args) -> int:
    details = service.details(args.username)
    if args.json:
        print(json.dumps(render.details_json(details), indent=2))
    else:
        print("\n".join(render.describe(details)))
    return 0


def _delete(service: RegistrationService, args) -> int:
    service.delete(args.username, _actor())
    print(f"deleted {args.username}")
    return 0


def _revoke(service: RegistrationService, args) -> int:
    serial = service.revoke(args.username, _actor(), args.reason)
    print(f"revoked {args.username}'s certificate serial {serial} ({args.reason}); the CRL is reissued")
    return 0


def _certificates(service: RegistrationService, args) -> int:
    print(render.listing(service.certificates(args.username), args.json, render.certificate_json,
                         render.CERTIFICATE_HEADER, render.certificate_row))
    return 0


def _crl(service: RegistrationService, args) -> int:
    print(render.crl_pem(service.crl().der), end="")
    return 0


def _ca(service: RegistrationService, args) -> int:
    print(service.ca.certificate_pem if args.pem else service.ca.fingerprint, end="" if args.pem else "\n")
    return 0


def _log(service: RegistrationService, args) -> int:
    records = list(reversed(service.audit_log()))
    if args.json:
        print(json.dumps([render.audit_json(record) for record in records], indent=2))
        return 0
    for record in records:
        who = make_visible(record.username) if record.username else "-"
        print(f"{when(record.at)}  {record.action:<8} {who:<20} by {record.actor}  {make_visible(record.detail)}".rstrip())
    return 0


# The fleet's commands (cli/fleet.py) take the actor: the others' lines are as before.
_FLEET_COMMANDS = {
    "grant": fleet.grant, "reject": fleet.reject, "preauthorize": fleet.preauthorize,
    "preauthorized": fleet.preauthorized, "unpreauthorize": fleet.unpreauthorize,
}
_COMMANDS = {
    "status": _status, "open": _open, "lock": _lock, "list": _list, "show": _show, "delete": _delete, "revoke": _revoke, "certificates": _certificates, "crl": _crl,
    "ca": _ca, "log": _log,
}
