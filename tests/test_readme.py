"""The README's command-line example works as written (only the port differs)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from tests.processes import ROOT, Registry

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def readme_example() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- tested by tests/test_readme.py[^>]*-->\n```sh\n(.*?)```", text, re.S).group(1)
    commands = re.sub(r"\\\n\s*", " ", block).splitlines()
    return [re.sub(r"\s+#.*$", "", command) for command in commands if command.strip()]


def test_the_readme_example_reaches_pending_then_granted(tmp_path):
    commands = readme_example()
    assert commands[0].startswith("export CLIENT_REGISTRY_DATA_DIR=")
    assert "--headless" in commands[1]
    registry = Registry(tmp_path)  # the example's server, on a free port instead of 8443
    registry.start()
    try:
        environment = f"export CLIENT_REGISTRY_DATA_DIR={registry.data_dir}\n"
        outputs = []
        for command in commands[2:]:
            command = command.replace("8443", str(registry.port))
            command = re.sub(r"^python ", f"{sys.executable} ", command)
            done = subprocess.run(["bash", "-c", environment + command], cwd=ROOT, capture_output=True, text=True,
                                  timeout=60)
            assert done.returncode == 0, (command, done.stderr)
            outputs.append(done.stdout)
        register, whoami = outputs[1], outputs[3]
        assert '"status": "pending"' in register
        assert '"username": "press7"' in whoami and '"authenticatedBy": "password"' in whoami
    finally:
        registry.kill()
