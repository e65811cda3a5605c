"""Programs the tests run for real (HAProxy; PostgreSQL next), and what happens without them.

A developer without the program sees the test skipped with the command that
installs it; CI sets ``CLIENT_REGISTRY_REQUIRE_SERVERS=1``, so that there a
missing program fails the test instead of passing quietly as a skip.
"""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE_VARIABLE = "CLIENT_REGISTRY_REQUIRE_SERVERS"


def require_program(name: str, package: str) -> str:
    """The path of program ``name`` on PATH. Without it: skip the test, naming the Debian
    or Ubuntu ``package`` to install; with ``$CLIENT_REGISTRY_REQUIRE_SERVERS=1``, fail it."""
    path = shutil.which(name)
    if path is not None:
        return path
    reason = f"{name} is not installed: apt-get install -y {package}"
    if os.environ.get(REQUIRE_VARIABLE) == "1":
        pytest.fail(f"{reason} ({REQUIRE_VARIABLE}=1 requires it)", pytrace=False)
    pytest.skip(reason)
