"""Log set-up shared by the API and the workers, driven by ``LOG_LEVEL``."""

from __future__ import annotations

import logging

LEVELS = {"error": logging.ERROR, "info": logging.INFO, "debug": logging.DEBUG, "debug-raw": logging.DEBUG}
FORMAT = "%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s"


def configure_logging(level: str) -> None:
    """Send logs to stderr at ``level`` (one of ``LEVELS``); safe to call twice."""
    logging.basicConfig(format=FORMAT)
    logging.getLogger().setLevel(LEVELS[level])
    # pika logs each broker hiccup as a stack of ERROR lines; Dramatiq already reports
    # the connection errors that matter, once, so pika speaks only when debugging.
    logging.getLogger("pika").setLevel(logging.DEBUG if level == "debug-raw" else logging.CRITICAL)
