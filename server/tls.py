"""TLS for the HTTPS server: the context, and the names its certificate carries."""

from __future__ import annotations

import ipaddress
import socket
import ssl
from pathlib import Path

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
    """DNS names and IP addresses by which agents may reach this host."""
    names = [socket.gethostname(), socket.getfqdn(), *ALWAYS_NAMES]
    addresses = list(ALWAYS_ADDRESSES)
    if _is_address(bind_host) and not ipaddress.ip_address(bind_host).is_unspecified:
        addresses.append(bind_host)
    elif not _is_address(bind_host) and bind_host:
        names.append(bind_host)
    for name in {socket.gethostname(), socket.getfqdn()}:
        try:
            infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
        except OSError:
            continue
        addresses.extend(info[4][0].split("%")[0] for info in infos)
    return _unique(n for n in names if n and _is_dns_name(n)), _unique(
        str(ipaddress.ip_address(a)) for a in addresses
    )


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
