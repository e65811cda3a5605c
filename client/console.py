"""What the enrolment tool tells the person at the device.

Progress goes to standard output, one line at a time and flushed at once, so
that a supervisor or a log collector sees each state as it happens. Text that
came from the network goes through ``visible`` first: a rejection reason or a
role name could otherwise carry terminal control sequences.
"""

from __future__ import annotations


def say(line: str) -> None:
    print(line, flush=True)


def visible(text: str) -> str:
    """``text`` with every unprintable character (controls, bidi overrides,
    zero-width marks) turned into its backslash escape."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
