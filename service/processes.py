"""Child processes that never outlive whoever started them: started, waited for, stopped.

The one helper for everything that starts processes: the ``make run`` supervisor, the tests'
service fixtures and the benchmark's stack. Every child gets

- a session (and so a process group) of its own: a terminal's Ctrl-C, sent to the foreground
  process group, reaches the parent only, which then sends each child exactly one SIGTERM;
- a parent-death signal (``PR_SET_PDEATHSIG``): a parent killed with SIGKILL still takes its
  children along, so nothing keeps a port or a queue consumer after it.

Stopping is SIGTERM once, a grace period, then SIGKILL to the child's whole process group
(its own children included), and the child is always reaped.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import requests

T = TypeVar("T")

EPHEMERAL_RANGE = "/proc/sys/net/ipv4/ip_local_port_range"
# Ports chosen by free_port start here: clear of the well-known and registered ones this machine
# serves (PostgreSQL 5432, RabbitMQ 5672/15672/25672 answer a bind check anyway).
FIRST_CHOSEN_PORT = 20000
FREE_PORT_TRIES = 100

PR_SET_PDEATHSIG = 1
# Resolved here, in the parent: the child between fork and exec should do as little as it can.
_prctl = ctypes.CDLL(None, use_errno=True).prctl
# Seconds between two looks at a condition being waited for.
POLL_S = 0.05


class NotReady(RuntimeError):
    """A process exited, or a condition did not hold, before its deadline."""


def _dying_with(parent: int, signum: int) -> Callable[[], None]:
    def preexec() -> None:
        _prctl(PR_SET_PDEATHSIG, signum)
        # The parent may have died between fork and prctl: then no signal would ever come.
        if os.getppid() != parent:
            os.kill(os.getpid(), signum)

    return preexec


class Child:
    """One command run in a session of its own, signalled when its parent dies.

    ``log`` (appended to) takes its stdout and stderr; ``user`` runs it as that user (root only).
    ``start`` may be called again once the process has exited.
    """

    def __init__(
        self,
        name: str,
        command: list[str],
        env: Mapping[str, str] | None = None,
        log: Path | None = None,
        cwd: Path | str | None = None,
        user: str | None = None,
        death_signal: int = signal.SIGTERM,
    ) -> None:
        self.name, self.command, self.env, self.log = name, command, env, log
        self.cwd, self.user, self.death_signal = cwd, user, death_signal
        self.process: subprocess.Popen | None = None
        self._terminated = False

    def start(self) -> Child:
        out = self.log.open("ab") if self.log else None
        try:
            self.process = subprocess.Popen(
                self.command, env=self.env, cwd=self.cwd, user=self.user,
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT if out else None,
                start_new_session=True, preexec_fn=_dying_with(os.getpid(), self.death_signal),
            )
        finally:
            if out:
                out.close()
        self._terminated = False
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} was never started"
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.process.poll() if self.process else None

    def send(self, signum: int) -> None:
        """``signum`` to the child itself (not its group), if it still runs."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signum)

    def terminate(self) -> None:
        """SIGTERM, once: a second one would cut short the graceful stop the first began."""
        if not self._terminated:
            self._terminated = True
            self.send(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL to the child's whole process group, then reap it."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def wait(self, timeout_s: float) -> int | None:
        """The exit code, or None if it still runs after ``timeout_s`` seconds."""
        if self.process is None:
            return None
        try:
            return self.process.wait(timeout=max(0.0, timeout_s))
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace_s: float) -> int:
        """SIGTERM, up to ``grace_s`` seconds to exit, then SIGKILL to its group; its exit code.

        Whatever is left of its process group afterwards (a grandchild that outlived it) is
        killed too.
        """
        if self.process is None:
            return 0
        self.terminate()
        code = self.wait(grace_s)
        self.kill()
        return self.process.returncode if code is None else code

    def tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:] if self.log else ""
        except FileNotFoundError:
            return ""


def wait_until(
    condition: Callable[[], T], timeout_s: float, what: str, child: Child | None = None, poll_s: float = POLL_S
) -> T:
    """Poll ``condition`` until it returns something truthy, and return that.

    Raises ``NotReady`` after ``timeout_s`` seconds, or as soon as ``child`` (if given) exits;
    the message names ``what`` and ends with the child's log.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if child is not None and child.process is not None and not child.running:
            raise NotReady(f"{what}: {child.name} exited with {child.returncode}\n{child.tail()}")
        if time.monotonic() > deadline:
            raise NotReady(f"{what}: not within {timeout_s:g} s\n{child.tail() if child else ''}")
        time.sleep(poll_s)


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
