"""7. Certificate lifecycle: issuing the CRL, and renewing a certificate.

- The CRL with 10,000 revoked certificates, as the registry issues it (read the
  revoked ones from the database, build, sign with the CA key, store, write
  crl.pem), beside bare ``cryptography`` building and signing the same list
  with the same key.
- A renewal over mutual TLS's path (the client found by its certificate, the
  CSR checked, the new certificate signed and stored, the old one revoked as
  superseded and the CRL reissued, all in one transaction) beside a grant of
  the same kind of request in the same run, in a registry of its own: the CRL
  it reissues grows with every revoked certificate (the first figure says by
  how much for 10,000).
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
from server.ca import CA_KEY_FILE
from server.lifecycle import CertificateLifecycle
from server.web.json_api import registration_answer
from storage import certificates, close_db, write_transaction
from wiring import open_registry, publish_crl

MEASUREMENT = "7 lifecycle"
REVOKED = 10_000
RENEWALS = 30
CRL_TARGET = "≤ 2 × bare"


def measure(workdir: Path) -> list[Figure]:
    figures = []
    # Apart: a renewal reissues the CRL, and with 10,000 revoked that alone is the CRL figure.
    for name, part in (("crl", _crl), ("renewal", _renewal)):
        data_dir = workdir / f"lifecycle-{name}"
        service = open_registry(data_dir, limits=BENCH_LIMITS)
        try:
            figures.append(part(service, data_dir))
        finally:
            close_db()
    return figures


def _crl(service, data_dir: Path) -> Figure:
    now = time.time()
    with write_transaction():
        for number in range(REVOKED):
            certificates.add(registration_id=0, username=f"gone{number}", serial=format(10**20 + number, "x"),
                             fingerprint=f"{number:064x}", pem="-", issued_at=now, not_after=now + 86400 * 365)
    with write_transaction():
        for number in range(REVOKED):
            certificates.revoke(format(10**20 + number, "x"), now, "keyCompromise")
    lifecycle = CertificateLifecycle(service.ca, time.time, lambda der: publish_crl(data_dir, der))
    ca_key = serialization.load_pem_private_key((data_dir / CA_KEY_FILE).read_bytes(), password=None)
    entries = [(10**20 + number, datetime.fromtimestamp(now, tz=timezone.utc)) for number in range(REVOKED)]
    ours, bare = [], []
    for _ in range(5):
        ours.append(_milliseconds(lifecycle.reissue))
        bare.append(_milliseconds(lambda: _bare_crl(service.ca.certificate, ca_key, entries)))
    figure, baseline = statistics.median(ours), statistics.median(bare)
    return Figure(MEASUREMENT, f"CRL with {REVOKED:,} revoked (median)", figure, "ms", baseline,
                  "bare cryptography CRL", CRL_TARGET, figure <= 2 * baseline, "",
                  {"ours_ms": rounded(ours), "bare_ms": rounded(bare)})


def _bare_crl(ca_certificate: x509.Certificate, ca_key, entries) -> bytes:
    now = datetime.now(timezone.utc)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca_certificate.subject)
               .last_update(now).next_update(now + timedelta(hours=24)))
    for serial, revoked_at in entries:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(revoked_at)
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False).build())
    return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _renewal(service, data_dir: Path) -> Figure:
    service.open("benchmark", 3600)
    grant_ms, renew_ms = [], []
    for number in range(RENEWALS):
        username = f"renew_{number:03d}"
        body = json.dumps({"username": username, "password": f"a password {number}",
                           "csr": csr_pem(username, make_key("EC P-256"))})
        registration_answer(service, body.encode(), "application/json", "127.0.0.1")
        grant_ms.append(_milliseconds(lambda: service.grant(username, "benchmark")))
        certificate = x509.load_pem_x509_certificate(service.details(username).certificate_pem.encode())
        der = certificate.public_bytes(serialization.Encoding.DER)
        csr = csr_pem(username, make_key("EC P-256"))
        renew_ms.append(_milliseconds(lambda: service.renew(der, None, csr, "127.0.0.1")))
    figure, baseline = statistics.median(renew_ms), statistics.median(grant_ms)
    return Figure(MEASUREMENT, "renewal by certificate, EC P-256 (median)", figure, "ms", baseline,
                  "a grant, same run", "", None, "", {"renew_ms": rounded(renew_ms), "grant_ms": rounded(grant_ms)})


def _milliseconds(action) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000
