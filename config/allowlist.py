"""Where a completion webhook may go: ``WEBHOOK_ALLOWED_HOSTS`` read (moved here from ``service/webhook_reach.py``;
the resolution and vetting of a delivery's address is ``reach.vetting``, the layer above).

Entries are names (``hooks.example.com``), addresses (``10.0.0.7``, ``::1``) or networks (``10.0.0.0/8``),
each optionally with ``:port`` (``[fd00::1]:8443`` for an IPv6 address) to allow that port only. A callback
URL must name a listed name, or an address inside a listed address or network. A name is compared as
written, which says nothing of where it leads: at delivery it is resolved, and an address is used only if
it is public, or itself inside a listed address or network. So a listed name that resolves to 127.0.0.1,
10.x, 169.254.169.254 (cloud metadata), ::1 or fc00::/7 is refused unless that address is listed too. The
delivery then connects to the address vetted, never resolving the name a second time (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import NamedTuple

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Entry(NamedTuple):
    # A lower-case name, or a network (a single address is a /32 or /128).
    host: str | Network
    port: int | None


def literal_address(host: str) -> Address | None:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is 127.0.0.1
    return mapped or address


def _entry(text: str) -> Entry:
    host, port = text, None
    if text.startswith("["):  # [v6 address or network]:port
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or None
    elif text.count(":") == 1:  # name, v4 address or v4 network, with a port
        host, port = text.split(":")
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"{text!r} has a bad port")
    try:
        network: str | Network = ipaddress.ip_network(host, strict=False)
    except ValueError:
        if not host or "/" in host or ":" in host:
            raise ValueError(f"{text!r} is neither a name, an address nor a network") from None
        network = host.lower().rstrip(".")
    return Entry(_unmapped(network), int(port) if port else None)


def _unmapped(network: str | Network) -> str | Network:
    """``::ffff:10.0.0.0/104`` as ``10.0.0.0/8``: addresses are compared unmapped (``literal_address``)."""
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            return ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}")
    return network


def _public(address: Address) -> bool:
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class Allowlist:
    """``WEBHOOK_ALLOWED_HOSTS``: which names, addresses and ports a webhook may reach."""

    entries: tuple[Entry, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Allowlist:
        """Comma-separated entries; ValueError naming a bad one."""
        return cls(tuple(_entry(part.strip()) for part in text.split(",") if part.strip()))

    def __bool__(self) -> bool:
        return bool(self.entries)

    def _listed(self, address: Address, port: int) -> bool:
        return any(
            not isinstance(entry.host, str) and address in entry.host and entry.port in (None, port)
            for entry in self.entries
        )

    def names(self, host: str, port: int) -> bool:
        """Whether a callback URL may name ``host`` (lower case) and ``port``."""
        address = literal_address(host)
        if address is not None:
            return self._listed(address, port)
        return any(entry.host == host.rstrip(".") and entry.port in (None, port) for entry in self.entries)

    def refusal(self, host: str, port: int) -> str | None:
        """Why a callback URL to ``host`` and ``port`` is refused before any resolution, or None."""
        if not self.names(host, port):
            where = host if port in (80, 443) else f"{host}:{port}"
            return f"goes to {where}, which is not in WEBHOOK_ALLOWED_HOSTS"
        return None

    def reachable(self, address: Address, port: int) -> bool:
        """A public address, or a listed one."""
        return _public(address) or self._listed(address, port)


# No entries: webhooks are off.
NOWHERE = Allowlist()
