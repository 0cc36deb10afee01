"""``make run``: migrate, then run the API, the workers and housekeeping in the foreground.

The stock ``dramatiq`` CLI stops every worker process and exits when one of them dies
unexpectedly; this supervisor starts it again (with a growing pause, capped), so an
OOM-killed worker never stops the service. Ctrl-C or SIGTERM stops everything.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

from service.settings import Settings

logger = logging.getLogger("facetasks.run")

# Seconds between restarts of a crashed process: doubled after each quick crash, capped.
RESTART_PAUSE_S = 1.0
MAX_RESTART_PAUSE_S = 30.0
# A process that ran this long before it died is considered healthy: its pause resets.
HEALTHY_AFTER_S = 60.0
# Seconds SIGTERM'd processes get to finish in-flight work before they are killed.
STOP_GRACE_S = 50.0


# Each entry point reads its settings from the environment it is started with.
def api_command() -> list[str]:
    return [sys.executable, "-m", "service.api_server"]


def housekeeping_command() -> list[str]:
    return [sys.executable, "-m", "actors.housekeeping"]


def worker_command() -> list[str]:
    return [sys.executable, "-m", "service.workers"]


@dataclass
class Supervised:
    name: str
    command: list[str]
    process: subprocess.Popen | None = None
    started: float = 0.0
    pause: float = RESTART_PAUSE_S
    restart_at: float | None = field(default=None)

    def start(self) -> None:
        logger.info("starting %s", self.name)
        self.process = subprocess.Popen(self.command)
        self.started = time.monotonic()
        self.restart_at = None

    def check(self, now: float) -> None:
        """Restart the process if it has exited, after its pause."""
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.start()
            return
        code = self.process.poll() if self.process else None
        if code is None:
            return
        if now - self.started >= HEALTHY_AFTER_S:
            self.pause = RESTART_PAUSE_S
        logger.warning("%s exited with code %s; restarting in %.0f s", self.name, code, self.pause)
        self.restart_at = now + self.pause
        self.pause = min(self.pause * 2, MAX_RESTART_PAUSE_S)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()

    def wait(self, deadline: float) -> None:
        if not self.process:
            return
        try:
            self.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop in time; killing it", self.name)
            self.process.kill()
            self.process.wait()


def main() -> int:
    settings = Settings.from_env()
    settings.configure_logging()
    subprocess.run([sys.executable, "-m", "service.migrate"], check=True)
    children = [
        Supervised("api", api_command()),
        Supervised("workers", worker_command()),
        Supervised("housekeeping", housekeeping_command()),
    ]
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for child in children:
        child.start()
    logger.info("facetasks on http://%s:%d (detector: %s)", settings.host, settings.port, settings.detector)
    while not stopping:
        now = time.monotonic()
        for child in children:
            child.check(now)
        time.sleep(0.5)
    logger.info("stopping")
    for child in children:
        child.stop()
    deadline = time.monotonic() + STOP_GRACE_S
    for child in children:
        child.wait(deadline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
