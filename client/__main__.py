"""``python -m client enroll …``: the enrolment tool without the rest of Client Registry,
for devices that carry only the client/ folder (and ``cryptography``)."""

from __future__ import annotations

import argparse
import sys

from client.enroll import add_enroll_parser, run_enroll


def main(argv: list[str] | None = None, prog: str = "python -m client") -> int:
    parser = argparse.ArgumentParser(prog=prog)
    add_enroll_parser(parser.add_subparsers(dest="command", required=True, metavar="{enroll}"))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, or a usage error (2): a status to return, not to raise
        return int(exit_.code or 0)
    return run_enroll(args)


if __name__ == "__main__":
    sys.exit(main())
