"""Child processes that never outlive whoever started them: started, waited for, stopped.

The one helper for everything that starts processes: the ``make run`` supervisor, the tests'
service fixtures and the benchmark's stack (whose harness around it, waiting, ports and sets of
children, is ``tests/harness.py``: the service ships without it). Every child gets

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
import signal
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

PR_SET_PDEATHSIG = 1
# Resolved here, in the parent: the child between fork and exec should do as little as it can.
_prctl = ctypes.CDLL(None, use_errno=True).prctl


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
