"""``python -m service.migrate``: create the database if missing and apply the migrations."""

from __future__ import annotations

import logging

from service.links import exit_if_untrusted
from service.settings import Settings
from storage.db import ensure_database, init_db
from storage.migrate import migrate

logger = logging.getLogger("facetasks.migrate")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    exit_if_untrusted(settings)
    if ensure_database(settings.database_url):
        logger.info("created database %s", settings.database_url.rsplit("/", 1)[-1])
    applied = migrate(init_db(settings.database_url, max_connections=1))
    logger.info("migrations applied: %s", ", ".join(applied) if applied else "none (up to date)")


if __name__ == "__main__":
    main()
