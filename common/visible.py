"""Showing text that came from the network without letting it act.

A username, role, CSR field or rejection reason is attacker-chosen. Control
characters can drive a terminal; bidirectional overrides and zero-width
characters can make ``evil`` read as ``live``. The admin CLI, the window and
the enrolment tool show such text through ``make_visible``, which turns every
such character into a backslash escape.
"""

from __future__ import annotations

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def make_visible(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(character if character.isprintable() else _escape(character) for character in text)


def _escape(character: str) -> str:
    if character in _NAMED:
        return _NAMED[character]
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
