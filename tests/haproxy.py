"""HAProxy in front of a registry, with the README's own configuration (section "Behind
HAProxy"): only its listening address and the instances' addresses and ports are
replaced, so that what the README tells an administrator is what the tests run."""

from __future__ import annotations

import re
import socket
import subprocess
from pathlib import Path

from tests.processes import ROOT, free_port, terminate, wait_until
from tests.servers import require_program

# What the README's configuration listens on, and where it finds the instances.
README_BIND = re.compile(r"^(\s*bind) :8443$", re.M)
README_INSTANCE = re.compile(r"\b10\.0\.0\.1[12]:8443\b")


def readme_configuration() -> str:
    text = (ROOT / "README.md").read_text()
    return re.search(r"<!-- tested by tests/test_haproxy.py[^>]*-->\n```haproxy\n(.*?)```", text, re.S).group(1)


def configuration(port: int, *instances: str) -> str:
    """The README's configuration listening on 127.0.0.1:``port``, with its two instances at
    ``instances`` (HOST:PORT each); one registry given stands for both of the README's."""
    places = iter(instances * 2 if len(instances) == 1 else instances)
    text, binds = README_BIND.subn(rf"\g<1> 127.0.0.1:{port}", readme_configuration())
    text, replaced = README_INSTANCE.subn(lambda _: next(places), text)
    assert (binds, replaced, len(instances) in (1, 2)) == (1, 2, True), \
        "the README's HAProxy configuration changed shape: update tests/haproxy.py"
    return text


class Haproxy:
    """``haproxy -db`` (in the foreground) on a free port of 127.0.0.1; from there it
    connects to the registry, so 127.0.0.1 is the address to trust."""

    address = "127.0.0.1"

    def __init__(self, folder: Path):
        self.program = require_program("haproxy", "haproxy")
        self.folder = folder
        self.port = free_port()  # known before the start, for the registry's --public-url
        self.process: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        return self.folder / "haproxy.log"

    def start(self, *registry_ports: int) -> None:
        """Balance the registries on 127.0.0.1 at ``registry_ports`` (one or two)."""
        path = self.folder / "haproxy.cfg"
        path.write_text(configuration(self.port, *(f"127.0.0.1:{port}" for port in registry_ports)))
        with open(self.log, "wb") as stream:
            self.process = subprocess.Popen([self.program, "-db", "-f", str(path)], stdout=stream,
                                            stderr=subprocess.STDOUT)
        wait_until(lambda: self._listening() or self.process.poll() is not None, "HAProxy to listen")
        assert self.process.poll() is None, self.log.read_text()

    def _listening(self) -> bool:
        try:
            socket.create_connection((self.address, self.port), timeout=1).close()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        if self.process is not None:
            terminate(self.process)
