"""What the enrolment tool tells the person at the device.

Progress goes to standard output, one line at a time and flushed at once, so
that a supervisor or a log collector sees each state as it happens. Text that
came from the network goes through ``common.visible.make_visible`` first: a rejection reason or a
role name could otherwise carry terminal control sequences.
"""

from __future__ import annotations


def say(line: str) -> None:
    print(line, flush=True)

