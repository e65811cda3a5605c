"""3. Granting: the service's grant against bare cryptography signing of the same CSRs.

A grant (``RegistrationService.grant``) loads the request, re-checks its CSR,
plans and signs the certificate with the CA's key, and stores it with the
audit entry in one transaction. The baseline loads the same CSR and signs a
certificate for its key with the same CA key and hash, and nothing else.
Each CSR is timed both ways back to back, so both see the same noise.
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from bench.agents import csr_pem, make_key
from bench.registry_server import BENCH_LIMITS
from bench.report import Figure, rounded
from wiring import open_registry
from server.ca import CA_CERT_FILE, CA_KEY_FILE
from storage import close_db
from server.web.json_api import registration_answer

MEASUREMENT = "3 granting"
GRANTS = {"EC P-256": 40, "RSA 2048": 12}
EC_TARGET = "≤ 2 × bare + 2 ms"


def bare_sign(pem: str, ca_key, ca_certificate: x509.Certificate) -> x509.Certificate:
    csr = x509.load_pem_x509_csr(pem.encode("ascii"))
    now = datetime.now(timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca_certificate.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=365))
        .sign(ca_key, hashes.SHA256())
    )


def measure(workdir: Path) -> list[Figure]:
    data_dir = workdir / "granting"
    service = open_registry(data_dir, limits=BENCH_LIMITS)
    try:
        service.open("benchmark", 3600)
        ca_key = serialization.load_pem_private_key((data_dir / CA_KEY_FILE).read_bytes(), password=None)
        ca_certificate = x509.load_pem_x509_certificate((data_dir / CA_CERT_FILE).read_bytes())
        figures = []
        for kind, count in GRANTS.items():
            grant_ms, bare_ms = [], []
            for i in range(count):
                username = f"grant_{kind.split()[0].lower()}_{i:03d}"
                pem = csr_pem(username, make_key(kind))
                body = json.dumps({"username": username, "password": f"a password {i}", "csr": pem})
                answer = registration_answer(service, body.encode(), "application/json", "127.0.0.1")
                if answer.status != 202:
                    raise RuntimeError(f"registering {username} answered {answer.status}: {answer.body}")
                bare_ms.append(_milliseconds(lambda: bare_sign(pem, ca_key, ca_certificate)))
                grant_ms.append(_milliseconds(lambda: service.grant(username, "benchmark")))
            grant, bare = statistics.median(grant_ms), statistics.median(bare_ms)
            details = {"grants": count, "grant_ms": rounded(grant_ms), "bare_ms": rounded(bare_ms)}
            is_ec = kind == "EC P-256"
            figures.append(Figure(
                MEASUREMENT, f"grant, {kind} CSR (median)", grant, "ms", bare, "bare signing",
                EC_TARGET if is_ec else "", (grant <= 2 * bare + 2) if is_ec else None,
                f"target for EC: ≤ {2 * bare + 2:.2f} ms" if is_ec else "", details))
        return figures
    finally:
        close_db()


def _milliseconds(action) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000
