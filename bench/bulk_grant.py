"""8. Bulk grant: ``admin grant --all-pending`` over 1,000 pending EC P-256 requests.

Timed is the core call the CLI makes (``RegistrationService.grant_many``): each
name's request loaded and its CSR re-checked, its certificate signed, and then a
batch of grants stored in one transaction, each with its certificate, audit
entry and event (``server.granting``). Beside it, in the same run, 1,000 bare
``cryptography`` signings of the same CSRs with the same CA key
(bench.granting's baseline). The pending rows go in straight through storage
with one shared password hash: 1,000 scrypt hashes would time the set-up, not
the grant.
"""

from __future__ import annotations

import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from bench.agents import csr_pem, make_key
from bench.granting import bare_sign
from bench.registry_server import BENCH_LIMITS
from bench.report import Figure
from server.ca import CA_CERT_FILE, CA_KEY_FILE
from server.csr import check_csr
from server.passwords import hash_password
from server.statuses import PENDING
from storage import close_db, registrations, write_transaction
from wiring import open_registry

MEASUREMENT = "8 bulk grant"
REQUESTS = 1000
TARGET = "≤ 3 × bare and < 5 s"


def measure(workdir: Path) -> list[Figure]:
    data_dir = workdir / "bulk-grant"
    service = open_registry(data_dir, limits=BENCH_LIMITS)
    try:
        pems = {f"bulk_{number:04d}": csr_pem(f"bulk_{number:04d}", make_key()) for number in range(REQUESTS)}
        store_pending(pems)
        ca_key = serialization.load_pem_private_key((data_dir / CA_KEY_FILE).read_bytes(), password=None)
        ca_certificate = x509.load_pem_x509_certificate((data_dir / CA_CERT_FILE).read_bytes())
        started = time.perf_counter()
        for pem in pems.values():
            bare_sign(pem, ca_key, ca_certificate)
        bare = time.perf_counter() - started
        names = [row.username for row in service.registrations(PENDING)]
        started = time.perf_counter()
        decisions = service.grant_many(names, "benchmark")
        ours = time.perf_counter() - started
        refused = [decision for decision in decisions if not decision.done]
        if len(decisions) != REQUESTS or refused:
            raise RuntimeError(f"the bulk grant refused {len(refused)} of {len(decisions)}")
        return [Figure(MEASUREMENT, f"grant --all-pending, {REQUESTS:,} EC P-256 requests", ours, "s", bare,
                       f"{REQUESTS:,} bare signings", TARGET, ours <= 3 * bare and ours < 5,
                       f"{ours / REQUESTS * 1000:.2f} ms a grant", {"grant_s": round(ours, 3), "bare_s": round(bare, 3)})]
    finally:
        close_db()


def store_pending(pems: dict[str, str]) -> None:
    shared_hash = hash_password("never polled")
    now = time.time()
    with write_transaction():
        for username, pem in pems.items():
            review = check_csr(pem, username).review
            registrations.add(username=username, status=PENDING, password_hash=shared_hash,
                              request_digest=review.key_fingerprint, source_address="10.0.0.1", context=None,
                              roles=["plc-reader"], permissions=[], csr_pem=pem,
                              key_fingerprint=review.key_fingerprint, key_description=review.key_description,
                              requested_at=now, last_poll_at=now, last_poll_address="10.0.0.1",
                              enrolled_via="api", pairing_code=None)
