"""``python -m client enroll …``: the enrolment tool without the rest of Client Registry,
for devices that carry only the client/ folder (and ``cryptography``)."""

from __future__ import annotations

import argparse
import sys

from client.enroll import add_enroll_parser, run_enroll


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m client")
    add_enroll_parser(parser.add_subparsers(dest="command", required=True, metavar="{enroll}"))
    return run_enroll(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
