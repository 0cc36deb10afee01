"""service.processes' choice of ports for the servers that tests and the benchmark start."""

from __future__ import annotations

import socket
from pathlib import Path

from service.processes import EPHEMERAL_RANGE, free_port


def test_a_chosen_port_is_free_and_below_the_range_outgoing_connections_take_their_ports_from():
    ephemeral_low = int(Path(EPHEMERAL_RANGE).read_text().split()[0])
    ports = {free_port() for _ in range(50)}

    assert all(port < ephemeral_low for port in ports)
    assert len(ports) > 1
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))
