"""``main.py enroll``: placeholder until the enrolment tool lands."""

from __future__ import annotations


def add_enroll_parser(subparsers) -> None:
    subparsers.add_parser("enroll", help="enrol this device (agent side)")


def run_enroll(args) -> int:
    raise NotImplementedError
