"""HAProxy in front of a registry, with the README's own configuration (section "Behind
HAProxy"): only its listening address and the instances' addresses and ports are
replaced, so that what the README tells an administrator is what the tests run."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from tests.processes import free_port, terminate, wait_until
from tests.servers import require_program
from tools.haproxy_config import configuration

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
