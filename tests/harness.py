"""The harness around the processes that tests and the benchmark start: waiting, ports, sets of children,
servers taken down for a while.

Shared by tests and bench (``bench`` imports it as ``tests.harness``, as it already imports
``tests.object_store``). It lives here, in ``tests/``, rather than in ``service/`` or a top-level
package of its own because it is development code only: ``tests/`` is neither installed
(pyproject installs no package), nor in the import contract, nor copied into the image (the Dockerfile's
COPY lines), so the image ships what runs and no service module can import this one and still
start there. The child processes themselves are ``service.processes.Child``, which ``make run``'s
supervisor uses too.
"""

from __future__ import annotations

import random
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import requests

from service.processes import Child

T = TypeVar("T")

EPHEMERAL_RANGE = "/proc/sys/net/ipv4/ip_local_port_range"
# Ports chosen by free_port start here: clear of the well-known and registered ones this machine
# serves (PostgreSQL 5432, RabbitMQ 5672/15672/25672 answer a bind check anyway).
FIRST_CHOSEN_PORT = 20000
FREE_PORT_TRIES = 100

# Seconds between two looks at a condition being waited for.
POLL_S = 0.05
# Characters of the last value a timeout's message shows.
SHOWN_CHARS = 600


class NotReady(AssertionError):
    """A condition did not hold before its deadline, or the process it waited on exited.

    An AssertionError, so pytest reports it as the failed expectation it is.
    """


def wait_until(
    condition: Callable[[], T],
    timeout_s: float,
    what: str,
    child: Child | None = None,
    *,
    poll_s: float = POLL_S,
    until: Callable[[T], Any] = bool,
    ignoring: tuple[type[BaseException], ...] = (),
) -> T:
    """Call ``condition`` every ``poll_s`` seconds until ``until`` holds for what it returns
    (by default: until it returns something truthy), and return that value.

    Raises ``NotReady`` once ``timeout_s`` seconds have passed (the condition is looked at once
    more after the deadline), naming ``what``, the timeout and the repr of the last value the
    condition returned (truncated), or as soon as ``child`` (if given) exits; with a child the
    message ends with its log. An exception raised by the condition goes through at once, unless
    it is one of ``ignoring``: then it counts as a value that does not hold yet (a page element
    mid-rerender, say), and the last one is what the message shows.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = condition()
        except ignoring as error:
            value = error
        else:
            if until(value):
                return value
        if child is not None and child.process is not None and not child.running:
            raise NotReady(f"{what}: {child.name} exited with {child.returncode}\n{child.tail()}")
        if time.monotonic() > deadline:
            raise NotReady(
                f"{what}: not within {timeout_s:g} s; last value: {_shown(value)}\n{child.tail() if child else ''}"
                .rstrip("\n")
            )
        time.sleep(poll_s)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS]}… ({len(text)} characters)"


def answers(url: str, status: int = 200, timeout_s: float = 2.0) -> bool:
    """True when a GET of ``url`` answers ``status``."""
    try:
        return requests.get(url, timeout=timeout_s).status_code == status
    except requests.RequestException:
        return False


def free_port(*hosts: str) -> int:
    """A TCP port nothing is bound to right now at any of ``hosts`` (default 127.0.0.1), below the
    kernel's ephemeral range.

    Below it because a port from that range can be taken, while its server is down, as the local
    port of any outgoing connection (a client retrying that very port can even connect to itself):
    a server restarted on it then fails with EADDRINUSE. Every address a server will listen on is
    checked: a port free on 127.0.0.1 may be held on ::1 by another program.
    """
    ephemeral_low = int(Path(EPHEMERAL_RANGE).read_text().split()[0])
    for _ in range(FREE_PORT_TRIES):
        port = random.randrange(FIRST_CHOSEN_PORT, ephemeral_low)
        if all(_bindable(host, port) for host in hosts or ("127.0.0.1",)):
            return port
    raise RuntimeError(f"no free port in {FIRST_CHOSEN_PORT}..{ephemeral_low - 1} after {FREE_PORT_TRIES} tries")


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


class Children:
    """Every process a harness started, so that all of them are stopped whatever happens.

    Each child logs to ``<logs>/<serial>-<name>.log``.
    """

    def __init__(self, logs: Path, cwd: Path | str | None = None) -> None:
        self.logs, self.cwd = logs, cwd
        self.running: list[Child] = []
        self._serial = 0

    def start(self, name: str, command: list[str], env: Mapping[str, str] | None = None, **options) -> Child:
        self._serial += 1
        self.logs.mkdir(parents=True, exist_ok=True)
        options.setdefault("cwd", self.cwd)
        child = Child(name, command, env, self.logs / f"{self._serial:02d}-{name}.log", **options).start()
        self.running.append(child)
        return child

    def stop(self, child: Child, grace_s: float) -> int:
        code = child.stop(grace_s)
        if child in self.running:
            self.running.remove(child)
        return code

    def stop_all(self, grace_s: float) -> None:
        """Stop every child still running, the last started first."""
        for child in reversed(list(self.running)):
            self.stop(child, grace_s)


class Restartable(ABC):
    """An instance that a test can take down for a while."""

    @abstractmethod
    def start(self) -> Restartable: ...

    @abstractmethod
    def stop(self) -> None: ...

    @contextmanager
    def down(self) -> Iterator[None]:
        """Stopped for the body of the ``with``, started again (same data, same port) after it."""
        self.stop()
        try:
            yield
        finally:
            self.start()
