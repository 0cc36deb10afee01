"""``make run``: migrate, then run the API, the workers and housekeeping in the foreground.

The stock ``dramatiq`` CLI stops every worker process and exits when one of them dies
unexpectedly; this supervisor starts it again (with a growing pause, capped), so an
OOM-killed worker never stops the service.

Stopping: Ctrl-C or SIGTERM sends each process exactly one SIGTERM, and they get
``Settings.stop_grace_s`` seconds to finish what they were doing (the API its requests, the
workers their in-flight images); a second Ctrl-C or SIGTERM, or the end of that grace, kills
them. The processes run in sessions of their own, so a terminal's Ctrl-C reaches this
supervisor only (Dramatiq takes a second SIGTERM as "kill now"), and they get SIGTERM
from the kernel if this supervisor dies, however it dies.
"""

from __future__ import annotations

import logging
import signal
import sys
import time

from config.settings import Settings
from service.links import MISCONFIGURED_EXIT, exit_if_misconfigured
from service.listen import address_problem
from service.processes import Child

logger = logging.getLogger("facetasks.run")

# Seconds between restarts of a crashed process: doubled after each quick crash, capped.
RESTART_PAUSE_S = 1.0
MAX_RESTART_PAUSE_S = 30.0
# A process that ran this long before it died is considered healthy: its pause resets.
HEALTHY_AFTER_S = 60.0
# Seconds between two looks at the processes.
TICK_S = 0.2


# Each entry point reads its settings from the environment it is started with.
def api_command() -> list[str]:
    return [sys.executable, "-m", "service.api_server"]


def housekeeping_command() -> list[str]:
    return [sys.executable, "-m", "service.housekeeping"]


def worker_command() -> list[str]:
    return [sys.executable, "-m", "service.workers"]


class Supervised:
    """A child process that is started again, after a pause, whenever it exits."""

    def __init__(self, name: str, command: list[str]) -> None:
        self.child = Child(name, command)
        self.started = 0.0
        self.pause = RESTART_PAUSE_S
        self.restart_at: float | None = None

    def start(self) -> None:
        logger.info("starting %s", self.child.name)
        self.child.start()
        self.started = time.monotonic()
        self.restart_at = None

    def check(self, now: float) -> None:
        """Restart the process if it has exited, after its pause."""
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.start()
            return
        code = self.child.returncode
        if code is None:
            return
        if now - self.started >= HEALTHY_AFTER_S:
            self.pause = RESTART_PAUSE_S
        logger.warning("%s exited with code %s; restarting in %.0f s", self.child.name, code, self.pause)
        self.restart_at = now + self.pause
        self.pause = min(self.pause * 2, MAX_RESTART_PAUSE_S)


class StopRequests:
    """Counts Ctrl-C and SIGTERM: the first asks for a graceful stop, the second for an immediate one."""

    def __init__(self) -> None:
        self.count = 0
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._received)

    def _received(self, signum: int, frame: object) -> None:
        self.count += 1


def stop(children: list[Supervised], requests: StopRequests, grace_s: float) -> int:
    """One SIGTERM each, then wait; kill whatever still runs after ``grace_s`` seconds or a second
    stop request. 0 if every process stopped by itself, 1 if one had to be killed."""
    logger.info("stopping: in-flight work gets up to %.0f s (Ctrl-C again to stop at once)", grace_s)
    for supervised in children:
        supervised.child.terminate()
    deadline = time.monotonic() + grace_s
    running = [s.child for s in children if s.child.running]
    while running and requests.count < 2 and time.monotonic() < deadline:
        time.sleep(TICK_S)
        running = [child for child in running if child.running]
    for child in running:
        logger.warning("%s did not stop in time; killing it", child.name)
        child.kill()
    return 1 if running else 0


def main() -> int:
    settings = Settings.from_env()
    settings.configure_logging()
    problem = address_problem(settings.host, settings.port)
    if problem:
        logger.error("%s", problem)
        return MISCONFIGURED_EXIT
    exit_if_misconfigured(settings)
    requests = StopRequests()
    migrate = Child("migrate", [sys.executable, "-m", "service.migrate"]).start()
    while migrate.wait(TICK_S) is None:
        if requests.count:
            migrate.kill()
            return 1
    if migrate.returncode != 0:
        return migrate.returncode
    children = [
        Supervised("api", api_command()),
        Supervised("workers", worker_command()),
        Supervised("housekeeping", housekeeping_command()),
    ]
    for supervised in children:
        supervised.start()
    logger.info("facetasks on http://%s:%d (detector: %s)", settings.host, settings.port, settings.detector)
    while not requests.count:
        now = time.monotonic()
        for supervised in children:
            supervised.check(now)
        time.sleep(TICK_S)
    return stop(children, requests, settings.stop_grace_s)


if __name__ == "__main__":
    sys.exit(main())
