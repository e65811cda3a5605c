"""This host's own network addresses, found with the standard library only.

An agent on the plant network often reaches the registry by IP address, so the
server certificate must name the addresses it can use. The host name alone is a
poor guide: on Debian it resolves to 127.0.1.1, in containers to 127.0.0.1. So
three sources are combined, each of which may come up empty on some system:

- the address the kernel would send from towards a documentation-only address
  (a UDP ``connect`` sends no packet; it only consults the routing table),
- on Linux, each interface's IPv4 address (``SIOCGIFADDR``) and the IPv6
  addresses in ``/proc/net/if_inet6``,
- whatever the host name resolves to.

Loopback, link-local (they need a zone, and no URL can carry one reliably),
unspecified and multicast addresses are left out.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import sys
from collections.abc import Iterable
from pathlib import Path

# RFC 5737 / RFC 3849 documentation addresses: never the address of a real peer.
_PROBES = ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1"))
_SIOCGIFADDR = 0x8915  # <linux/sockios.h>
_IF_INET6 = Path("/proc/net/if_inet6")


def host_addresses() -> list[str]:
    """This host's usable addresses, the one of the default route first; maybe empty."""
    found: list[str] = []
    for source in (_routed_addresses, _interface_addresses, _resolved_addresses):
        try:
            found.extend(source())
        except OSError:
            continue  # one source failing must not hide the others
    return usable_addresses(found)


def usable_addresses(candidates: Iterable[str]) -> list[str]:
    """The candidates an agent on another machine could connect to, without duplicates, in order."""
    usable: dict[str, None] = {}
    for text in candidates:
        try:
            address = ipaddress.ip_address(text.split("%")[0])
        except ValueError:
            continue
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not (address.is_loopback or address.is_link_local or address.is_unspecified or address.is_multicast):
            usable[str(address)] = None
    return list(usable)


def _routed_addresses() -> list[str]:
    addresses = []
    for family, probe in _PROBES:
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as udp:
                udp.connect((probe, 9))
                addresses.append(udp.getsockname()[0])
        except OSError:
            continue  # no route for this family
    return addresses


def _interface_addresses() -> list[str]:
    if not sys.platform.startswith("linux"):
        return []
    import fcntl

    addresses = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for _, name in socket.if_nameindex():
            try:
                request = struct.pack("256s", name.encode()[:15])
                addresses.append(socket.inet_ntoa(fcntl.ioctl(udp.fileno(), _SIOCGIFADDR, request)[20:24]))
            except OSError:
                continue  # an interface without an IPv4 address
    if _IF_INET6.exists():
        for line in _IF_INET6.read_text().splitlines():
            hex_digits = line.split()[0] if line.split() else ""
            if len(hex_digits) == 32:
                addresses.append(str(ipaddress.IPv6Address(bytes.fromhex(hex_digits))))
    return addresses


def _resolved_addresses() -> list[str]:
    addresses = []
    for name in dict.fromkeys((socket.gethostname(), socket.getfqdn())):
        try:
            infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
        except OSError:
            continue
        addresses.extend(info[4][0] for info in infos)
    return addresses
