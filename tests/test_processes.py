"""tests.harness' choice of ports for the servers that tests and the benchmark start."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.harness import EPHEMERAL_RANGE, free_port


def test_a_chosen_port_is_free_and_below_the_range_outgoing_connections_take_their_ports_from():
    ephemeral_low = int(Path(EPHEMERAL_RANGE).read_text().split()[0])
    ports = {free_port() for _ in range(50)}

    assert all(port < ephemeral_low for port in ports)
    assert len(ports) > 1
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def bound_on_ipv6_loopback_only() -> socket.socket:
    """A socket holding a port on ::1 that 127.0.0.1 has free: the suite's other servers take ports from
    the same range, so a port the kernel gives on ::1 may be in use on 127.0.0.1."""
    while True:
        held = socket.socket(socket.AF_INET6)
        held.bind(("::1", 0))
        with socket.socket() as ipv4:
            try:
                ipv4.bind(("127.0.0.1", held.getsockname()[1]))
                return held
            except OSError:
                held.close()


def test_a_port_held_on_one_of_the_addresses_asked_for_is_never_chosen(monkeypatch):
    with bound_on_ipv6_loopback_only() as held, bound_on_ipv6_loopback_only() as probe:
        taken = held.getsockname()[1]
        other = probe.getsockname()[1]
        probe.close()
        # The draws are made to offer the held port first, then one that is free everywhere.
        draws = iter([taken, other, taken])
        monkeypatch.setattr("tests.harness.random.randrange", lambda low, high: next(draws))

        assert free_port("127.0.0.1", "::1") == other
        assert free_port("127.0.0.1") == taken  # free on 127.0.0.1: only ::1 holds it
