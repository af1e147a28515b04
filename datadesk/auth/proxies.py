"""Which reverse proxies are trusted, and the client address as they report it.

Headers such as X-Forwarded-For and a single sign-on user header are honoured only when the
connection itself comes from a configured proxy address; from anyone else they are ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """The configured proxy addresses or networks (``auth.trusted_proxies``)."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(entry.strip(), strict=False) for entry in entries
        )

    def is_trusted(self, address: str | None) -> bool:
        """Whether a peer address belongs to a trusted proxy."""
        if not address or not self.networks:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client_address(self, peer: str | None, forwarded_for: str | None) -> str:
        """The real client: the right-most untrusted X-Forwarded-For hop when the peer is a
        trusted proxy, otherwise the peer itself."""
        if not self.is_trusted(peer) or not forwarded_for:
            return peer or "unknown"
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self.is_trusted(hop):
                return hop[:64]
        return hops[0][:64] if hops else (peer or "unknown")

    def scheme(self, peer: str | None, forwarded_proto: str | None, own: str) -> str:
        """'https' or 'http' as a trusted proxy reports it (X-Forwarded-Proto: it terminates
        TLS), otherwise the connection's own scheme."""
        if not self.is_trusted(peer) or not forwarded_proto:
            return own
        proto = forwarded_proto.split(",")[0].strip().lower()
        return proto if proto in {"http", "https"} else own
