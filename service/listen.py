"""Whether the API's address is free, asked before anything starts: a port another program holds is a
mistake to fix in the settings, not a crash to restart in a loop."""

from __future__ import annotations

import errno
import socket


def address_problem(host: str, port: int) -> str | None:
    """One line saying why the API could not listen on ``host``:``port``, or None when it can."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        return f"HOST {host} is not an address of this machine ({error.strerror}); set HOST to one, e.g. 127.0.0.1"
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            # As waitress binds: a port in TIME_WAIT is free, one with a listener is not.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    return (f"PORT {port} is taken: another program listens on {host}:{port}; stop it, "
                            f"or set PORT to a free port (PORT={port + 1} make run)")
                return f"cannot listen on {host}:{port} (HOST, PORT): {error.strerror}"
    return None
