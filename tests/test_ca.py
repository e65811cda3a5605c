"""The certificate authority's files: created once, owner-only key, reused."""

from __future__ import annotations

import stat

import pytest
from cryptography import x509

from server.ca import CA_CERT_FILE, CA_KEY_FILE, SERVER_CERT_FILE, CaError, CertificateAuthority


def test_ca_is_created_once_with_an_owner_only_key_and_reused(tmp_path, clock):
    first = CertificateAuthority.create(tmp_path, clock())
    assert stat.S_IMODE((tmp_path / CA_KEY_FILE).stat().st_mode) == 0o600
    again = CertificateAuthority.load(tmp_path)
    assert again.fingerprint == first.fingerprint
    certificate = x509.load_pem_x509_certificate((tmp_path / CA_CERT_FILE).read_bytes())
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    certificate.verify_directly_issued_by(certificate)


def test_a_key_made_readable_by_others_is_made_owner_only_again(tmp_path, clock, caplog):
    CertificateAuthority.create(tmp_path, clock())
    (tmp_path / CA_KEY_FILE).chmod(0o644)
    CertificateAuthority.load(tmp_path)
    assert stat.S_IMODE((tmp_path / CA_KEY_FILE).stat().st_mode) == 0o600
    assert "readable by others" in caplog.text


def test_a_missing_half_is_refused_with_a_clear_reason(tmp_path, clock):
    CertificateAuthority.create(tmp_path, clock())
    (tmp_path / CA_CERT_FILE).unlink()
    with pytest.raises(CaError, match="ca.crt is missing; restore it from a backup"):
        CertificateAuthority.load(tmp_path)


def test_a_certificate_of_another_key_is_refused(tmp_path, clock):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    CertificateAuthority.create(tmp_path / "one", clock())
    CertificateAuthority.create(tmp_path / "two", clock())
    (tmp_path / "one" / CA_CERT_FILE).write_bytes((tmp_path / "two" / CA_CERT_FILE).read_bytes())
    with pytest.raises(CaError, match="does not belong to the key"):
        CertificateAuthority.load(tmp_path / "one")


def test_server_certificate_is_reused_until_names_change(tmp_path, clock):
    ca = CertificateAuthority.create(tmp_path, clock())
    ca.ensure_server_certificate(tmp_path, ["localhost"], ["127.0.0.1"], clock())
    first = (tmp_path / SERVER_CERT_FILE).read_bytes()
    ca.ensure_server_certificate(tmp_path, ["localhost"], ["127.0.0.1"], clock())
    assert (tmp_path / SERVER_CERT_FILE).read_bytes() == first
    ca.ensure_server_certificate(tmp_path, ["localhost", "registry.plant"], ["127.0.0.1"], clock())
    renewed = x509.load_pem_x509_certificate((tmp_path / SERVER_CERT_FILE).read_bytes())
    assert "registry.plant" in renewed.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)


def test_server_certificate_is_renewed_a_month_before_it_expires(tmp_path, clock):
    ca = CertificateAuthority.create(tmp_path, clock())
    ca.ensure_server_certificate(tmp_path, ["localhost"], [], clock())
    first = (tmp_path / SERVER_CERT_FILE).read_bytes()
    clock.advance(336 * 24 * 3600)
    ca.ensure_server_certificate(tmp_path, ["localhost"], [], clock())
    assert (tmp_path / SERVER_CERT_FILE).read_bytes() != first
