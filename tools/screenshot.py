"""Make the README's screenshots of the real window: ``python -m tools.screenshot [assets]``.

A fresh registry in a temporary folder, the real HTTPS server on a free port,
agents that register over HTTPS with real CSRs, a few decided by the service,
the rest left pending; then the window is grabbed at 1024×768, the size of the
smallest control-room screen it must fit, in the light and the dark scheme
(``screenshot.png``, ``screenshot-dark.png``), and so is the review dialog of
one pending request (``review-dialog.png``, ``review-dialog-dark.png``).
Offscreen unless a display is asked for (QT_QPA_PLATFORM).
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
import sys
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

AGENTS = (
    # username, key, roles, permissions (context:operation:resource), context, extra subject, SANs
    ("press.line3", "ec", ["operator"], ["mqtt:read:plant/line3/#", "mqtt:write:plant/line3/cmd"],
     {"host": "plc-l3-gw", "site": "Hall B", "version": "2.4.1"}, {"O": "Acme Stamping", "OU": "Line 3"},
     ["press-line3.plant.local"]),
    ("scada.historian", "rsa", ["historian", "reader"], ["http:read:/api/tags", "mqtt:read:plant/#"],
     {"host": "hist01", "site": "Control room"}, {"O": "Acme Stamping"}, []),
    ("packaging.hmi7", "ed25519", ["operator"], ["mqtt:readWrite:plant/packaging/#"],
     "HMI panel at packaging cell 7", {"O": "Acme Stamping", "L": "Hall C"}, ["hmi7.plant.local"]),
    ("energy.meter12", "p384", ["telemetry"], ["mqtt:write:energy/meter12"],
     {"host": "em12", "firmware": "1.9"}, {}, []),
    ("qa.scanner02", None, ["quality"], ["http:write:/api/inspections"], "Handheld scanner, QA lab", {}, []),
    ("line.camera5", "ec", ["vision"], ["mqtt:write:plant/line5/images"],
     {"host": "cam5", "site": "Hall A"}, {"O": "Acme Stamping", "OU": "Line 5"}, []),
    ("mes.gateway", "rsa", ["integration", "reader"], ["http:readWrite:/api/orders", "mqtt:read:plant/+/state"],
     {"host": "mes-gw01", "version": "5.2"}, {"O": "Acme Stamping"}, []),
    ("robot.cell4", "p384", ["operator", "maintenance"], ["mqtt:readWrite:plant/cell4/#"],
     {"host": "rc4", "site": "Hall B"}, {"O": "Acme Stamping", "OU": "Robotics"}, []),
    ("weigh.station2", "ed25519", ["telemetry"], ["mqtt:write:plant/weigh2/readings"],
     "Scale at shipping dock 2", {}, []),
    ("boiler.monitor", "ec", ["telemetry"], ["mqtt:write:utilities/boiler/#", "http:read:/api/limits"],
     {"host": "blr-mon", "site": "Utilities"}, {"O": "Acme Stamping"}, []),
)
GRANTED = {"scada.historian": (), "energy.meter12": (), "mes.gateway": (), "weigh.station2": ()}
REJECTED = {"qa.scanner02": "scanner not in the asset register"}
SCREEN = (1024, 768)
# What the window manager's title bar and the taskbar take from a 1024×768 screen.
WINDOW_SIZE = (1024, 728)

_ATTRIBUTES = {"O": NameOID.ORGANIZATION_NAME, "OU": NameOID.ORGANIZATIONAL_UNIT_NAME, "L": NameOID.LOCALITY_NAME}


def _csr(username: str, kind: str, subject: dict, sans: list[str]) -> str:
    key = {"ec": lambda: ec.generate_private_key(ec.SECP256R1()),
           "p384": lambda: ec.generate_private_key(ec.SECP384R1()),
           "ed25519": ed25519.Ed25519PrivateKey.generate,
           "rsa": lambda: rsa.generate_private_key(65537, 2048)}[kind]()
    names = [x509.NameAttribute(NameOID.COMMON_NAME, username)]
    names += [x509.NameAttribute(_ATTRIBUTES[name], value) for name, value in subject.items()]
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(names))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
    csr = builder.sign(key, None if kind == "ed25519" else hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _register(port: int, ca_file: Path, agent: tuple) -> None:
    username, kind, roles, permissions, context, subject, sans = agent
    document = {
        "username": username, "password": f"{username}-secret", "roles": roles, "context": context,
        "permissions": [dict(zip(("context", "operation", "resource"), p.split(":", 2))) for p in permissions],
    }
    if kind:
        document["csr"] = _csr(username, kind, subject, sans)
    connection = http.client.HTTPSConnection(
        "localhost", port, context=ssl.create_default_context(cafile=str(ca_file)), timeout=30)
    try:
        connection.request("POST", "/api/client-registry/register", json.dumps(document),
                           {"Content-Type": "application/json"})
        response = connection.getresponse()
        if response.status != 202:
            raise RuntimeError(f"{username}: {response.status} {response.read().decode(errors='replace')}")
    finally:
        connection.close()


def _wait(app, condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not show the registrations in time")
        app.processEvents()
        time.sleep(0.02)


def _offscreen_screen(folder: Path) -> None:
    """An offscreen platform whose one screen is 1024×768, so that the window and
    the dialog size themselves as they would on such a screen."""
    config = folder / "screen.json"
    config.write_text(json.dumps({"screens": [{"name": "screenshot", "x": 0, "y": 0, "width": SCREEN[0],
                                               "height": SCREEN[1], "logicalDpi": 96, "logicalBaseDpi": 96,
                                               "dpr": 1}]}))
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={config}"


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "assets")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temporary:
        if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
            _offscreen_screen(Path(temporary))
        written = _take(out, Path(temporary))
    print("wrote " + ", ".join(str(path) for path in written))
    return 0


def _take(out: Path, temporary: Path) -> list[Path]:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from gui.main_window import MainWindow
    from gui.review_dialog import ReviewDialog
    from gui.theme import DARK, LIGHT, apply_theme
    from wiring import open_registry, start_server
    from server.ca import CA_CERT_FILE

    app = QApplication.instance() or QApplication([])
    written = []
    data = temporary / "data"
    service = open_registry(data)
    server = start_server(service, data, "127.0.0.1", 0)
    try:
        service.open("admin (screenshot)")
        for agent in AGENTS:
            _register(server.port, data / CA_CERT_FILE, agent)
        for username in GRANTED:
            service.grant(username, "admin (window)")
        for username, reason in REJECTED.items():
            service.reject(username, "admin (window)", reason)
        details = service.details("press.line3")
        service.release_connection()
        for scheme, suffix in ((LIGHT, ""), (DARK, "-dark")):
            apply_theme(app, scheme)
            window = MainWindow(service, server.agent_urls, QSettings(str(temporary / f"{scheme}.ini"),
                                                                     QSettings.Format.IniFormat))
            window.resize(*WINDOW_SIZE)
            window.show()
            window.start()
            _wait(app, lambda: window.registrations.rowCount() == len(AGENTS) and window.state_panel.is_open)
            window.registrations_tab.select_username("press.line3")
            _settle(app)
            written.append(_save(window, out / f"screenshot{suffix}.png"))
            dialog = ReviewDialog(details, window, window.registrations)
            dialog.show()
            _settle(app)
            written.append(_save(dialog, out / f"review-dialog{suffix}.png"))
            dialog.close()
            window.shutdown()
            window.close()
    finally:
        server.stop()
        service.release_connection()
    return written


def _settle(app) -> None:
    for _ in range(5):
        app.sendPostedEvents()
        app.processEvents()


def _save(widget, path: Path) -> Path:
    widget.grab().save(str(path))
    return path


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
