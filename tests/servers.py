"""Outside servers that some tests need (PostgreSQL, HAProxy): found, or the test skipped
with the reason and the install command; never skipped where they are required.

CI installs them and sets ``CLIENT_REGISTRY_REQUIRE_SERVERS=1`` (.ci/run), so that a
missing server fails there instead of passing as a skip.
"""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRED_VARIABLE = "CLIENT_REGISTRY_REQUIRE_SERVERS"


def missing(what: str, package: str) -> None:
    """Skip the test (fail it, where servers are required): ``what`` is not on this machine."""
    reason = f"{what} is not installed (apt-get install -y {package})"
    if os.environ.get(REQUIRED_VARIABLE) == "1":
        pytest.fail(f"{reason}, and {REQUIRED_VARIABLE}=1 requires it", pytrace=False)
    pytest.skip(reason)


def require_program(name: str, package: str) -> str:
    """The path of the program ``name``, from the Debian package ``package``; else ``missing``."""
    path = shutil.which(name)
    if path is None:
        missing(name, package)
    return path
