"""The key types the registry accepts (SPEC: Certificates).

The registry refuses any other key in a CSR; the enrolment tool checks a
``--key`` against the same rules at once, instead of after waiting for the
registry to open.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes

RSA_MIN_BITS, RSA_MAX_BITS = 2048, 8192
# Curve name (as cryptography names it) -> how people name it, and the hash that
# matches its strength for signing a CSR.
CURVES = {
    "secp256r1": ("P-256", hashes.SHA256),
    "secp384r1": ("P-384", hashes.SHA384),
    "secp521r1": ("P-521", hashes.SHA512),
}
