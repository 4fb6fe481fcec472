"""Which client addresses a listener trusts, and whether a bind address reaches beyond this machine."""

from __future__ import annotations

import ipaddress
from typing import Iterable

__all__ = ["LOOPBACK", "TrustedNetworks", "binds_beyond_loopback"]

#: The default trusted networks: this machine only.
LOOPBACK = ("127.0.0.0/8", "::1/128")


class TrustedNetworks:
    """A set of IP networks (CIDR strings); ``addr in nets`` for an address string.

    Raises:
        ValueError: a string that is not a network, naming it.
    """

    def __init__(self, networks: Iterable[str] = LOOPBACK) -> None:
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for text in networks:
            try:
                self.networks.append(ipaddress.ip_network(str(text), strict=False))
            except ValueError:
                raise ValueError(f"trusted network {text!r} is not an address or CIDR network "
                                 "(e.g. 127.0.0.0/8, 192.168.1.0/24)") from None

    def __contains__(self, addr: object) -> bool:
        try:
            ip = ipaddress.ip_address(str(addr).split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self.networks if net.version == ip.version)

    def __str__(self) -> str:
        return ", ".join(map(str, self.networks)) or "none"


def binds_beyond_loopback(host: str) -> bool:
    """True if a server bound to ``host`` is reachable from other machines (0.0.0.0, a LAN address, a name)."""
    if host in ("localhost", "ip6-localhost"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True
