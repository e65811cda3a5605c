"""The addresses an agent can use: what the server certificate names, and what the
window lists. An agent that connects by the host's IP address passes its TLS check."""

from __future__ import annotations

import socket
import ssl

import pytest
from cryptography import x509

from wiring import start_server
from server.ca import CA_CERT_FILE
from server.host_addresses import host_addresses, usable_addresses
from server.tls import agent_urls


def an_own_address() -> str | None:
    """A non-loopback IPv4 address of this host, found the way a technician's
    `ip route get` would: the source address of the default route."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("198.51.100.1", 9))  # TEST-NET-2: sends nothing
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


@pytest.fixture
def wildcard_server(service, tmp_path):
    running = start_server(service, tmp_path / "data", "0.0.0.0", 0)
    yield running
    running.stop()


def test_only_addresses_another_machine_can_reach_are_kept():
    assert usable_addresses(["127.0.0.1", "::1", "0.0.0.0", "fe80::1%eth0", "224.0.0.1", "169.254.3.4",
                             "192.168.1.5", "::ffff:10.0.0.7", "fd00::2", "192.168.1.5", "not an address"]) == [
        "192.168.1.5", "10.0.0.7", "fd00::2"]


def test_the_host_addresses_include_the_default_routes_source_address():
    own = an_own_address()
    if own is None:
        pytest.skip("this host has no IPv4 route beyond loopback")
    assert own in host_addresses()


@pytest.mark.parametrize("bind, expected", [
    ("0.0.0.0", ["https://plc-gw:8443", "https://plc-gw.plant.example:8443", "https://192.168.1.5:8443"]),
    ("::", ["https://plc-gw:8443", "https://plc-gw.plant.example:8443", "https://192.168.1.5:8443",
            "https://[fd00::5]:8443"]),
    ("192.168.1.5", ["https://192.168.1.5:8443"]),
    ("plc-gw.plant.example", ["https://plc-gw.plant.example:8443"]),
])
def test_agent_urls_spell_out_a_wildcard_as_the_names_and_addresses_agents_can_type(bind, expected):
    names = ["plc-gw", "plc-gw.plant.example", "localhost"]
    addresses = ["192.168.1.5", "fd00::5", "127.0.0.1", "::1"]
    assert agent_urls("https", bind, 8443, names, addresses) == expected


def test_a_host_with_only_loopback_offers_localhost():
    assert agent_urls("http", "0.0.0.0", 80, ["localhost"], ["127.0.0.1", "::1"]) == ["http://localhost:80"]


def test_the_server_certificate_names_the_hosts_own_address_and_an_agent_using_it_verifies(
        wildcard_server, tmp_path):
    own = an_own_address()
    if own is None:
        pytest.skip("this host has no IPv4 address beyond loopback")
    context = ssl.create_default_context(cafile=str(tmp_path / "data" / CA_CERT_FILE))
    with socket.create_connection((own, wildcard_server.port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=own) as tls:  # checks the IP against the SANs
            certificate = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
    sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert own in {str(address) for address in sans.get_values_for_type(x509.IPAddress)}
    assert f"https://{own}:{wildcard_server.port}" in wildcard_server.agent_urls
    assert not any("0.0.0.0" in url for url in wildcard_server.agent_urls)


def served_names(service, data_dir, public_url: str | None) -> tuple[set[str], set[str]]:
    """The DNS names and addresses of the certificate a server started with ``public_url`` serves."""
    running = start_server(service, data_dir, "127.0.0.1", 0, public_url=public_url)
    try:
        pem = ssl.get_server_certificate(("127.0.0.1", running.port))
    finally:
        running.stop()
    sans = x509.load_pem_x509_certificate(pem.encode()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    return set(sans.get_values_for_type(x509.DNSName)), {str(a) for a in sans.get_values_for_type(x509.IPAddress)}


def test_the_server_certificate_names_the_public_urls_host_and_is_reissued_when_it_changes(service, tmp_path):
    """Agents behind a load balancer connect to its name, not to this host's."""
    data = tmp_path / "data"
    names, addresses = served_names(service, data, None)
    assert "registry.plant.example" not in names
    with_name = served_names(service, data, "https://registry.plant.example:8443")
    assert with_name == (names | {"registry.plant.example"}, addresses)
    assert served_names(service, data, "https://[fd00::5]:8443") == (names, addresses | {"fd00::5"})
    assert served_names(service, data, "https://10.0.0.5") == (names, addresses | {"10.0.0.5"})


def test_agents_are_shown_the_public_url_first(service, tmp_path):
    """The window's "Agents connect to" list: behind a balancer, its name is the one to use."""
    running = start_server(service, tmp_path / "data", "127.0.0.1", 0, public_url="https://registry.plant.example:8443")
    try:
        assert running.agent_urls == ["https://registry.plant.example:8443", running.url]
    finally:
        running.stop()
