"""How values become text in the window, and labels that never interpret it.

Usernames, context, roles, permissions and CSR fields are chosen by whoever
sent the request. Qt labels guess "rich text" from a leading tag and buttons
turn ``&`` into a keyboard mnemonic, so network text goes through ``shown``
(control and bidi characters made visible) into widgets told to show it as is.
"""

from __future__ import annotations

import json
import math
from functools import cache
from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QLabel

from common.visible import make_visible
from server.validation import Permission


def shown(text: object) -> str:
    """Network text as the window shows it: control and bidi characters escaped."""
    return "" if text is None else make_visible(str(text))


def plain_label(text: str = "", *, selectable: bool = True, monospace: bool = False) -> QLabel:
    """A label that shows ``text`` literally, never as HTML."""
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if monospace:
        label.setFont(fixed_font())
    return label


@cache
def fixed_font() -> QFont:
    """The desktop's monospaced font: for fingerprints and pairing codes, compared character by character."""
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


def local_time(epoch_seconds: float | None) -> str:
    if epoch_seconds is None:
        return ""
    return datetime.fromtimestamp(epoch_seconds).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def spaced_hex(hex_digits: str) -> str:
    """A fingerprint in groups of eight, for comparing by eye with ``openssl dgst`` output
    or what the device shows (the same lowercase hex, without the spaces)."""
    return " ".join(hex_digits[i:i + 8] for i in range(0, len(hex_digits), 8))


def countdown(seconds: float) -> str:
    """Seconds left as mm:ss, or h:mm:ss from an hour on (a 24-hour opening reads
    23:59:59, not 1439:59); rounded up so that 00:00 means the time is up."""
    whole = max(0, math.ceil(seconds))
    hours, rest = divmod(whole, 3600)
    if hours:
        return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{rest // 60:02d}:{rest % 60:02d}"


def permission_text(permission: Permission) -> str:
    return f"{permission.context} · {permission.operation} · {shown(permission.resource)}"


def context_text(context: str | dict | None) -> str:
    """A request's context: a string as it is, an object as indented JSON; escaped either way."""
    if context is None:
        return ""
    if isinstance(context, str):
        return shown(context)
    dumped = json.dumps(context, indent=2, ensure_ascii=False, sort_keys=True)
    return "\n".join(shown(line) for line in dumped.splitlines())
