"""Why an enrolment stopped, each kind with the exit status SPEC gives it.

``run_enroll`` turns any of these into one line on standard error and its
exit status; nothing here is ever shown as a traceback.
"""

from __future__ import annotations

GRANTED = 0
FAILED = 1
USAGE = 2
REJECTED = 3
TIMED_OUT = 4
UNTRUSTED = 5


class EnrollError(Exception):
    """The enrolment cannot go on; the message is one line."""

    exit_status = FAILED


class UsageError(EnrollError):
    """An option names something unusable: a key file, a password file, the URL."""

    exit_status = USAGE


class Rejected(EnrollError):
    exit_status = REJECTED


class TimedOut(EnrollError):
    exit_status = TIMED_OUT


class Untrusted(EnrollError):
    """The registry's CA is not (yet) trusted, or a certificate does not verify against it."""

    exit_status = UNTRUSTED
