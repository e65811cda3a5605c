"""A commissioning list of devices to pre-authorise, as CSV.

``username,fingerprint,roles,permissions``: one device a line, roles and
permissions (``CONTEXT:OPERATION:RESOURCE``) each separated by ``;``. A file
with any bad line is refused whole, every bad line named by its number, so
that a half-imported list never has to be untangled.
"""

from __future__ import annotations

import csv
import io

from server.outcomes import Refused
from server.preauthorization import Entry, checked_entry

HEADER = ["username", "fingerprint", "roles", "permissions"]
MAX_PROBLEMS_SHOWN = 10


def parse_csv(text: str) -> list[Entry]:
    """Every line's entry, in order; Refused naming each bad line (the first ten)."""
    reader = csv.reader(io.StringIO(text))
    header = [cell.strip() for cell in next(reader, [])]
    if header != HEADER:
        raise Refused(f"line 1: the header must be {','.join(HEADER)}, not {','.join(header) or 'empty'}")
    entries, problems, seen = [], [], set()
    for cells in reader:
        number = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # a blank line, as spreadsheets leave at the end
        if len(cells) != len(HEADER):
            problems.append(f"line {number}: expected {len(HEADER)} fields, found {len(cells)}")
            continue
        username, fingerprint, roles, permissions = (cell.strip() for cell in cells)
        try:
            entry = checked_entry(username, fingerprint, _split(roles), _split(permissions), line=number)
        except Refused as refusal:
            problems.append(f"line {number}: {refusal}")
            continue
        if entry.username.lower() in seen:
            problems.append(f"line {number}: {entry.username} is listed twice")
        seen.add(entry.username.lower())
        entries.append(entry)
    if problems:
        more = len(problems) - MAX_PROBLEMS_SHOWN
        raise Refused(f"{len(problems)} bad line{'s' if len(problems) > 1 else ''}, nothing imported: "
                      + "; ".join(problems[:MAX_PROBLEMS_SHOWN]) + (f"; and {more} more" if more > 0 else ""))
    if not entries:
        raise Refused("the file lists no devices")
    return entries


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]
