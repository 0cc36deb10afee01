"""The address a completion webhook connects to: its host resolved and each address vetted against the
``WEBHOOK_ALLOWED_HOSTS`` allowlist (``config.allowlist``, which parses the setting and says what a callback URL
may name). Moved here from ``service/webhook_reach.py``, where parsing and vetting were one module.

A name is resolved at delivery, and an address is used only if it is public, or itself inside a listed address
or network: a listed name that resolves to 127.0.0.1, 10.x, 169.254.169.254 (cloud metadata), ::1 or fc00::/7
is refused unless that address is listed too. The delivery then connects to the address vetted, never
resolving the name a second time (DNS rebinding).
"""

from __future__ import annotations

import socket

from config.allowlist import Allowlist, literal_address


class Refused(Exception):
    """The webhook may not go there; the message says why."""


def vetted_address(allowed: Allowlist, host: str, port: int) -> str:
    """The first address of ``host`` a webhook may connect to. ``Refused`` when none may be;
    ``OSError`` when the name does not resolve (it may later)."""
    refusal = allowed.refusal(host, port)
    if refusal:
        raise Refused(f"the callback URL {refusal}")
    if literal_address(host) is not None:
        found = [host]
    else:
        found = [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]
    for text in found:
        address = literal_address(text)  # None for a link-local address with its zone (fe80::1%eth0)
        if address is not None and allowed.reachable(address, port):
            return str(address)
    raise Refused(f"{host} resolves to {', '.join(sorted(set(found)))}: not public (loopback, private, "
                  f"link-local, multicast or reserved), and not in WEBHOOK_ALLOWED_HOSTS")
