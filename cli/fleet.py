"""The admin CLI's commands for many devices at once: bulk grant and reject, pre-authorisation.

``admin grant A B C``, ``admin grant --all-pending`` and ``admin reject A B`` print
one line per name (granted or rejected on standard output, ``refused: …`` on
standard error) and exit 1 when any was refused. ``admin preauthorize``,
``admin preauthorized`` and ``admin unpreauthorize`` keep the list of devices
granted on their first request.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli import render
from cli.render import when
from server.service import Decision, Preauthorized, RegistrationService
from server.statuses import PENDING


def add_fleet_parsers(commands, parents: list[argparse.ArgumentParser], fingerprint) -> None:
    """``fingerprint``: the argparse type that reads a key fingerprint as typed."""
    granter = commands.add_parser("grant", parents=parents,
                                  help="grant pending requests and issue their certificates")
    granter.add_argument("usernames", nargs="*", metavar="USERNAME")
    granter.add_argument("--all-pending", action="store_true", help="grant every pending request")
    granter.add_argument("--fingerprint", metavar="HEX", type=fingerprint,
                         help="refuse unless the request's key has this SHA-256 fingerprint (one USERNAME only)")
    granter.add_argument("--sans", action="store_true",
                         help="issue the subject alternative names the CSR asks for (one USERNAME only)")
    rejecter = commands.add_parser("reject", parents=parents, help="reject pending requests")
    rejecter.add_argument("usernames", nargs="+", metavar="USERNAME")
    rejecter.add_argument("--reason", metavar="TEXT", help="told to each agent on its next poll")

    adder = commands.add_parser("preauthorize", parents=parents,
                                help="grant a device on its first request, even while locked, when its key matches")
    adder.add_argument("username", nargs="?", help="the device's username (or --import a CSV list)")
    adder.add_argument("--fingerprint", metavar="HEX", type=fingerprint, help="the SHA-256 fingerprint of its key")
    adder.add_argument("--role", action="append", default=[], metavar="R", help="a role it may be granted; repeatable")
    adder.add_argument("--permission", action="append", default=[], metavar="CONTEXT:OPERATION:RESOURCE",
                       help="a permission it may be granted; repeatable")
    adder.add_argument("--expires", type=float, metavar="HOURS", help="unused after this long, it no longer grants")
    adder.add_argument("--import", dest="import_file", type=Path, metavar="FILE.csv",
                       help="pre-authorise every line of a CSV file: username,fingerprint,roles,permissions "
                            "(roles and permissions separated by ';'); a bad file is refused whole")
    lister = commands.add_parser("preauthorized", parents=parents, help="list the pre-authorised devices")
    lister.add_argument("--json", action="store_true")
    remover = commands.add_parser("unpreauthorize", parents=parents, help="remove a device's pre-authorisation")
    remover.add_argument("username")


def grant(service: RegistrationService, args, actor: str) -> int:
    if args.all_pending == bool(args.usernames):
        return _usage("admin grant: name the USERNAMEs to grant, or give --all-pending")
    if args.fingerprint or args.sans:
        if len(args.usernames) != 1:
            return _usage("admin grant: --fingerprint and --sans go with one USERNAME")
        return _one_grant(service, args, actor)
    names = args.usernames or [row.username for row in service.registrations(PENDING)]
    if not names:
        print("no pending requests")
        return 0
    return _report(service.grant_many(names, actor), _granted)


def reject(service: RegistrationService, args, actor: str) -> int:
    return _report(service.reject_many(args.usernames, actor, args.reason), lambda done: f"rejected {done.username}")


def preauthorize(service: RegistrationService, args, actor: str) -> int:
    if args.import_file is not None:
        if args.username or args.fingerprint or args.role or args.permission:
            return _usage("admin preauthorize: --import takes its devices from the file alone")
        text = args.import_file.read_text(encoding="utf-8-sig")  # spreadsheets often write a BOM
        results = service.import_preauthorizations(text, actor, args.expires)
    else:
        if not args.username or not args.fingerprint:
            return _usage("admin preauthorize: give USERNAME and --fingerprint HEX, or --import FILE.csv")
        results = [service.preauthorize(args.username, args.fingerprint, actor, roles=args.role,
                                        permissions=args.permission, expires_hours=args.expires)]
    for result in results:
        print(_preauthorized(result))
    return 0


def preauthorized(service: RegistrationService, args, actor: str) -> int:
    print(render.listing(service.preauthorizations(), args.json, render.preauthorization_json,
                         render.PREAUTHORIZATION_HEADER, render.preauthorization_row))
    return 0


def unpreauthorize(service: RegistrationService, args, actor: str) -> int:
    service.unpreauthorize(args.username, actor)
    print(f"removed the pre-authorisation of {args.username}")
    return 0


def _one_grant(service: RegistrationService, args, actor: str) -> int:
    username = args.usernames[0]
    sans = ()
    if args.sans:
        review = service.details(username).csr
        sans = review.sans if review else ()
    print(_granted(service.grant(username, actor, sans=sans, expected_fingerprint=args.fingerprint)))
    return 0


def _report(decisions: list[Decision], line) -> int:
    """One line per name; 1 when any was refused."""
    for decision in decisions:
        if decision.done:
            print(line(decision))
        else:
            print(f"refused: {decision.refusal}", file=sys.stderr)
    return 0 if all(decision.done for decision in decisions) else 1


def _granted(decision: Decision) -> str:
    if decision.certificate_serial:
        return (f"granted {decision.username}: certificate serial {decision.certificate_serial}, "
                f"expires {when(decision.certificate_not_after)}")
    return f"granted {decision.username} (no CSR, password only)"


def _preauthorized(result: Preauthorized) -> str:
    where = f"line {result.line}: " if result.line is not None else ""
    return f"{where}pre-authorised {result.username}" + (" (replacing the earlier one)" if result.replaced else "")


def _usage(message: str) -> int:
    print(message, file=sys.stderr)
    return 2
