"""Pairing codes: what the technician at a device and the administrator read to each other.

A 64-digit key fingerprint is hard to compare by phone; eight characters are
easy, and a random code per request (from ``secrets``, so it cannot be
predicted) tells an impostor's request from the real one just as well for a
person comparing the two there and then.
"""

from __future__ import annotations

import secrets

# Neither 0/O/Q/D nor 1/I/L/J, nor 2/Z, 5/S, 8/B, U/V: no two characters that are
# misread on a screen or misheard on the phone (the rest of Crockford's idea).
ALPHABET = "34679ACEFGHKMNPRTWXY"
LENGTH = 8


def new_pairing_code() -> str:
    """A fresh code, shown as ``XXXX-XXXX``."""
    code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{code[:4]}-{code[4:]}"
