"""Log set-up shared by the API, the workers and housekeeping: ``LOG_LEVEL``, ``LOG_FORMAT``, ``LOG_FILE``.

Every line carries the context it was written in: the API request's id (``req=…``) or the queue
message's id (``msg=…``). ``debug-raw`` adds request and response bodies, truncated, from the
loggers named in ``RAW_LOGGERS``; credentials, tokens and image bytes are never among them.

Moved here from ``service/logs.py``, with the settings, to the ``config`` floor every layer may import.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar

LEVELS = {"error": logging.ERROR, "info": logging.INFO, "debug": logging.DEBUG, "debug-raw": logging.DEBUG}
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s %(context)s: %(message)s"
RAW_LOGGERS = ("api.raw", "detectors.facecloud.raw")

# Set by the API per request and by the workers per message; "-" elsewhere.
log_context: ContextVar[str] = ContextVar("log_context", default="-")


class _Context(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.context = log_context.get()
        return True


class _Json(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "process": record.process,
            "context": getattr(record, "context", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(level: str, fmt: str = "text", log_file: str | None = None) -> None:
    """Log to stderr (and ``log_file``) at ``level``; replaces earlier handlers, so safe to call twice."""
    root = logging.getLogger()
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    formatter = _Json() if fmt == "json" else logging.Formatter(TEXT_FORMAT)
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(_Context())
        root.addHandler(handler)
    root.setLevel(LEVELS[level])
    raw = level == "debug-raw"
    for name in RAW_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if raw else logging.INFO)
    # pika logs each broker hiccup as a stack of ERROR lines; Dramatiq already reports
    # the connection errors that matter, once, so pika speaks only when debugging raw.
    logging.getLogger("pika").setLevel(logging.DEBUG if raw else logging.CRITICAL)
