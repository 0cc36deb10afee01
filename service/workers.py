"""``python -m service.workers``: Dramatiq's workers, as many processes and threads as the settings say.

``WORKER_PROCESSES`` and ``WORKER_THREADS`` default by detector (``config.settings``); this entry
point turns the settings into Dramatiq's command line and replaces itself with it (same PID, so a
supervisor's or a container engine's signals reach Dramatiq directly). ``make run`` and the compose
``worker`` service both start it, so neither hard-codes a thread count.
"""

from __future__ import annotations

import os
import sys

from actors.messages import AGGREGATE_QUEUE, DETECT_QUEUE
from config.settings import Settings
from service.links import exit_if_misconfigured


def dramatiq_command(settings: Settings) -> list[str]:
    return [
        sys.executable, "-m", "dramatiq",
        f"--processes={settings.worker_processes}", f"--threads={settings.worker_threads}",
        # Webhooks have threads of their own (actors.webhook_pool).
        "--queues", DETECT_QUEUE, AGGREGATE_QUEUE,
        # Each worker process sets its own logging up (config.logs); in-flight images get
        # Settings.worker_stop_grace_s (a constant, not a variable) after SIGTERM to finish before they
        # are left to redelivery.
        "--skip-logging", f"--worker-shutdown-timeout={settings.worker_stop_grace_s * 1000}",
        "actors.worker:setup",
    ]


def main() -> None:
    settings = Settings.from_env()
    settings.configure_logging()
    exit_if_misconfigured(settings)
    command = dramatiq_command(settings)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
