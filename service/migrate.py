"""``python -m service.migrate``: create the database if missing and apply the migrations."""

from __future__ import annotations

import logging
import sys
from urllib.parse import unquote, urlsplit

import psycopg2

from config.settings import Settings
from service.links import MISCONFIGURED_EXIT, exit_if_misconfigured, postgres_refusal
from storage.db import ensure_database, init_db
from storage.migrate import migrate

logger = logging.getLogger("facetasks.migrate")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    exit_if_misconfigured(settings)
    url = settings.database_url
    parts = urlsplit(url)
    where, name = f"{parts.hostname}:{parts.port or 5432}", parts.path.lstrip("/")
    try:
        if ensure_database(url):
            logger.info("created database %s", name)
    except psycopg2.errors.InsufficientPrivilege as error:
        role = unquote(parts.username or "") or "(your system user)"
        logger.error("PostgreSQL at %s: role %s may not create the database %s: %s (DATABASE_URL); create it as a "
                     "superuser: sudo -u postgres createdb -O %s %s", where, role, name, postgres_refusal(error),
                     role, name)
        return MISCONFIGURED_EXIT
    except psycopg2.OperationalError as error:
        logger.error("PostgreSQL at %s does not answer: %s (DATABASE_URL); start it, or correct the host and port",
                     where, postgres_refusal(error))
        return 1
    applied = migrate(init_db(url, max_connections=1))
    logger.info("migrations applied: %s", ", ".join(applied) if applied else "none (up to date)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
