"""``main.py admin …``: the administrator's command line over the same service.

Works on the data folder whether or not the server runs: the database is the
single source of truth. Exit status: 0 done, 1 refused (one line on standard
error), 2 usage error (argparse's own).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from peewee import OperationalError

from server.actors import admin_actor
from server.bootstrap import has_registry, open_registry
from server.ca import CaError
from server.service import DEFAULT_OPEN_SECONDS, RegistrationService, Refused, normalize_fingerprint
from server.text import make_visible
from server.views import RegistrationDetails
from storage.registrations import STATUSES


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
    granter = commands.add_parser("grant", parents=parents, help="grant a pending request and issue its certificate")
    granter.add_argument("username")
    granter.add_argument("--fingerprint", metavar="HEX", type=_fingerprint,
                         help="refuse unless the request's key has this SHA-256 fingerprint")
    granter.add_argument("--sans", action="store_true", help="issue the subject alternative names the CSR asks for")
    rejecter = commands.add_parser("reject", parents=parents, help="reject a pending request")
    rejecter.add_argument("username")
    rejecter.add_argument("--reason", metavar="TEXT", help="told to the agent on its next poll")
    deleter = commands.add_parser("delete", parents=parents, help="delete a registration; revokes a granted client")
    deleter.add_argument("username")
    ca = commands.add_parser("ca", parents=parents, help="the CA certificate's SHA-256 fingerprint")
    ca.add_argument("--pem", action="store_true", help="print the CA certificate instead")
    log = commands.add_parser("log", parents=parents, help="the audit trail, oldest first")
    log.add_argument("--json", action="store_true")


def _fingerprint(text: str) -> str:
    try:
        return normalize_fingerprint(text)
    except Refused as refusal:
        raise argparse.ArgumentTypeError(str(refusal)) from None


def run_admin(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir)
    if not has_registry(data_dir):
        return _refuse(f"there is no registry in {data_dir}; start the server once, or check --data-dir")
    try:
        service = open_registry(data_dir)
        return _COMMANDS[args.admin_command](service, args)
    except Refused as refusal:
        return _refuse(str(refusal))
    except CaError as error:
        return _refuse(str(error))
    except OperationalError as error:
        return _refuse(f"the database cannot be used right now ({error})")


def _refuse(reason: str) -> int:
    print(f"refused: {reason}", file=sys.stderr)
    return 1


def _actor() -> str:
    return admin_actor("cli")


def _when(epoch_seconds: float | None) -> str:
    if epoch_seconds is None:
        return "-"
    return datetime.fromtimestamp(epoch_seconds).astimezone().isoformat(sep=" ", timespec="seconds")


def _status(service: RegistrationService, args) -> int:
    status = service.status()
    print(f"open, {status.seconds_left} seconds left" if status.is_open else "locked")
    return 0


def _open(service: RegistrationService, args) -> int:
    status = service.open(_actor(), args.duration)
    print(f"open until {_when(status.open_until)} ({status.seconds_left} seconds)")
    return 0


def _lock(service: RegistrationService, args) -> int:
    service.lock(_actor())
    print("locked")
    return 0


def _list(service: RegistrationService, args) -> int:
    rows = service.registrations(args.status)
    if args.json:
        print(json.dumps([row.to_json() for row in rows], indent=2))
        return 0
    table = [("USERNAME", "STATUS", "KEY", "ROLES", "PERMS", "SOURCE", "REQUESTED", "LAST POLL")]
    table += [
        (row.username, row.status, row.key_description or "-", make_visible(",".join(row.roles)) or "-",
         str(row.permission_count), row.source_address, _when(row.requested_at), _when(row.last_poll_at))
        for row in rows
    ]
    widths = [max(len(line[column]) for line in table) for column in range(len(table[0]))]
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
    return 0


def _show(service: RegistrationService, args) -> int:
    details = service.details(args.username)
    if args.json:
        print(json.dumps(details.to_json(), indent=2))
    else:
        print("\n".join(describe(details)))
    return 0


def describe(details: RegistrationDetails) -> list[str]:
    """The registration as the review dialog shows it, as lines of text."""
    lines = [
        f"username:         {details.username}",
        f"status:           {details.status}",
        f"source address:   {details.source_address}",
        f"requested at:     {_when(details.requested_at)}",
        f"last poll:        {_when(details.last_poll_at)} from {details.last_poll_address}",
        f"failed attempts:  {details.failed_attempts}",
        f"context:          {make_visible(json.dumps(details.context, ensure_ascii=False)) if details.context is not None else '-'}",
        f"requested roles:  {make_visible(', '.join(details.roles)) or '-'}",
        "requested permissions:" + ("" if details.permissions else " -"),
    ]
    lines += [f"  {p.context}:{p.operation}:{make_visible(p.resource)}" for p in details.permissions]
    csr = details.csr
    if csr is None:
        lines.append("CSR:              none (password only)")
    else:
        lines.append("CSR subject:")
        lines += [f"  {name} = {make_visible(value)}" for name, value in csr.subject]
        lines.append("CSR SANs:         " + (make_visible(", ".join(map(str, csr.sans))) or "-"))
        if csr.other_sans:
            lines.append("  never issued:   " + make_visible(", ".join(csr.other_sans)))
        if csr.requested_extensions:
            lines.append("CSR also asks for (never issued): " + make_visible(", ".join(csr.requested_extensions)))
        lines.append(f"key:              {csr.key_algorithm} {csr.key_size}".rstrip())
        lines.append(f"signature:        {csr.signature_algorithm}")
        lines.append(f"key fingerprint:  {csr.key_fingerprint}")
    if details.plan is not None:
        plan = details.plan
        lines.append(f"will issue:       CN={plan.common_name}, CA:FALSE, {', '.join(plan.key_usage)}, "
                     f"{', '.join(plan.extended_key_usage)}, valid {_when(plan.not_before.timestamp())} "
                     f"to {_when(plan.not_after.timestamp())}; SANs only with --sans")
    if details.decided_at is not None:
        lines.append(f"decided:          {details.status} by {details.decided_by} at {_when(details.decided_at)}")
    if details.reject_reason:
        lines.append(f"reason:           {make_visible(details.reject_reason)}")
    if details.status == "granted":
        lines.append(f"granted roles:    {make_visible(', '.join(details.granted_roles)) or '-'}")
        lines.append(f"granted permissions: {len(details.granted_permissions)}")
    if details.certificate_serial:
        lines.append(f"certificate:      serial {details.certificate_serial}, "
                     f"expires {_when(details.certificate_not_after)}")
    return lines


def _grant(service: RegistrationService, args) -> int:
    sans = ()
    if args.sans:
        review = service.details(args.username).csr
        sans = review.sans if review else ()
    details = service.grant(args.username, _actor(), sans=sans, expected_fingerprint=args.fingerprint)
    if details.certificate_serial:
        print(f"granted {details.username}: certificate serial {details.certificate_serial}, "
              f"expires {_when(details.certificate_not_after)}")
    else:
        print(f"granted {details.username} (no CSR, password only)")
    return 0


def _reject(service: RegistrationService, args) -> int:
    service.reject(args.username, _actor(), args.reason)
    print(f"rejected {args.username}")
    return 0


def _delete(service: RegistrationService, args) -> int:
    service.delete(args.username, _actor())
    print(f"deleted {args.username}")
    return 0


def _ca(service: RegistrationService, args) -> int:
    print(service.ca.certificate_pem if args.pem else service.ca.fingerprint, end="" if args.pem else "\n")
    return 0


def _log(service: RegistrationService, args) -> int:
    records = list(reversed(service.audit_log()))
    if args.json:
        print(json.dumps([record.to_json() for record in records], indent=2))
        return 0
    for record in records:
        who = make_visible(record.username) if record.username else "-"
        print(f"{_when(record.at)}  {record.action:<8} {who:<20} by {record.actor}  {make_visible(record.detail)}".rstrip())
    return 0


_COMMANDS = {
    "status": _status, "open": _open, "lock": _lock, "list": _list, "show": _show, "grant": _grant,
    "reject": _reject, "delete": _delete, "ca": _ca, "log": _log,
}
