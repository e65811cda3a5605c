"""Make the README's screenshots of the real window: ``python -m gui.screenshot [assets]``.

A fresh registry in a temporary folder, the real HTTPS server on a free port,
agents that register over HTTPS with real CSRs, a few decided by the service,
the rest left pending; then the window (offscreen unless a display is asked
for) is grabbed to ``screenshot.png``, and the review dialog of one pending
request to ``review-dialog.png``.
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


def main(argv: list[str]) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from gui.main_window import MainWindow
    from gui.review_dialog import ReviewDialog
    from gui.theme import apply_theme
    from wiring import open_registry, start_server
    from server.ca import CA_CERT_FILE

    out = Path(argv[0] if argv else "assets")
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    apply_theme(app)
    with tempfile.TemporaryDirectory() as temporary:
        data = Path(temporary) / "data"
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
            service.release_connection()
            window = MainWindow(service, server.url, QSettings(str(Path(temporary) / "settings.ini"),
                                                              QSettings.Format.IniFormat))
            window.resize(1280, 640)
            window.show()
            window.start()
            _wait(app, lambda: window.registrations.rowCount() == len(AGENTS) and window.state_panel.is_open)
            window.registrations_tab.select_username("press.line3")
            _wait(app, lambda: True)
            app.processEvents()
            window.grab().save(str(out / "screenshot.png"))
            details = service.details("press.line3")
            service.release_connection()
            dialog = ReviewDialog(details, window)
            dialog.show()
            app.processEvents()
            dialog.grab().save(str(out / "review-dialog.png"))
            dialog.close()
            window.close()
        finally:
            server.stop()
            service.release_connection()
    print(f"wrote {out / 'screenshot.png'} and {out / 'review-dialog.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
