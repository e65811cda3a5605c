"""TLS for the HTTPS server: the context, and the names its certificate carries."""

from __future__ import annotations

import ipaddress
import socket
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from server.host_addresses import host_addresses

ALWAYS_NAMES = ["localhost"]
ALWAYS_ADDRESSES = ["127.0.0.1", "::1"]
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


def server_context(cert_path: Path, key_path: Path, ca_path: Path) -> ssl.SSLContext:
    """TLS 1.2 or newer; a client certificate is optional and, when sent, must chain
    to our CA (that is how a granted client may authenticate by certificate)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # TLS 1.2: forward secrecy and AEAD only; the CBC suites' padding has been an
    # oracle more than once (Lucky13). TLS 1.3 suites are AEAD by design.
    context.set_ciphers(TLS12_CIPHERS)
    context.load_cert_chain(cert_path, key_path)
    context.load_verify_locations(cafile=str(ca_path))
    context.verify_mode = ssl.CERT_OPTIONAL
    return context


def local_names(bind_host: str) -> tuple[list[str], list[str]]:
    """DNS names and IP addresses by which agents may reach this host: what the
    server certificate names. The host's own network addresses come first."""
    names = [socket.gethostname(), socket.getfqdn()]
    addresses = host_addresses()
    if _is_address(bind_host) and not ipaddress.ip_address(bind_host).is_unspecified:
        addresses.append(bind_host)
    elif not _is_address(bind_host) and bind_host:
        names.append(bind_host)
    names += ALWAYS_NAMES
    addresses += ALWAYS_ADDRESSES
    return _unique(n for n in names if n and _is_dns_name(n)), _unique(
        str(ipaddress.ip_address(a)) for a in addresses
    )


def with_public_host(names: list[str], addresses: list[str], public_url: str | None) -> tuple[list[str], list[str]]:
    """``names`` and ``addresses`` with the host of ``public_url`` (a DNS name or an IP
    address): the server certificate names it too, since agents that reach the
    registry through a load balancer (or an alias) check the certificate against it."""
    host = urlsplit(public_url).hostname if public_url else None
    if not host:
        return names, addresses
    if _is_address(host):
        return names, _unique([*addresses, str(ipaddress.ip_address(host))])
    return _unique([*names, host]), addresses


def agent_urls(scheme: str, bind_host: str, port: int, names: list[str], addresses: list[str]) -> list[str]:
    """The URLs an agent can type: the bound address itself, or, for a wildcard
    (0.0.0.0, ::), each name and address of ``local_names`` the socket accepts.
    ``localhost`` and loopback addresses only when nothing else is left, since
    an agent on another machine cannot use them."""
    if bind_host and bind_host not in ("0.0.0.0", "::"):
        hosts = [bind_host]
    else:
        families = (4, 6) if bind_host == "::" else (4,)  # "::" also takes IPv4 where the OS maps it
        usable = [a for a in addresses if ipaddress.ip_address(a).version in families]
        remote = [n for n in names if n not in ALWAYS_NAMES] + [
            a for a in usable if not ipaddress.ip_address(a).is_loopback]
        hosts = remote or ["localhost"]
    return [f"{scheme}://{_url_host(host)}:{port}" for host in _unique(hosts)]


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_dns_name(text: str) -> bool:
    return not _is_address(text) and all(part and len(part) <= 63 for part in text.split(".")) and text.isascii()


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))
