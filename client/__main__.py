"""``python -m client enroll …`` and ``… renew …``: the agent's tools without the rest of
Client Registry, for devices that carry only the client/ and common/ folders (and
``cryptography``)."""

from __future__ import annotations

import argparse
import sys

from client.enroll import add_enroll_parser, run_enroll
from client.renew import add_renew_parser, run_renew

AGENT_COMMANDS = ("enroll", "renew")


def main(argv: list[str] | None = None, prog: str = "python -m client") -> int:
    parser = argparse.ArgumentParser(prog=prog)
    commands = parser.add_subparsers(dest="command", required=True, metavar="{enroll,renew}")
    add_enroll_parser(commands)
    add_renew_parser(commands)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, or a usage error (2): a status to return, not to raise
        return int(exit_.code or 0)
    return run_enroll(args) if args.command == "enroll" else run_renew(args)


if __name__ == "__main__":
    sys.exit(main())
