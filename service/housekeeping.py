"""``python -m service.housekeeping``: the housekeeping process (``service.housekeeper.Housekeeper``)
sweeping every ``HOUSEKEEPING_INTERVAL_S`` seconds until it is stopped; it checks the links at start
(``service.links``) as the other entry points do.
"""

from __future__ import annotations

import sys
import time

from actors.broker import make_broker
from actors.messages import Publisher, QueueUnavailable
from config.settings import Settings
from service.housekeeper import Housekeeper, logger
from service.links import exit_if_misconfigured
from storage.db import init_db
from storage.stores import open_store


def run() -> int:
    """Sweep every ``HOUSEKEEPING_INTERVAL_S`` seconds until the process is stopped."""
    settings = Settings.from_env()
    settings.configure_logging()
    exit_if_misconfigured(settings)
    init_db(settings.database_url, max_connections=2)
    store = open_store(settings.image_store_url, settings.s3_endpoint_url)
    broker = make_broker(settings.rabbitmq_url, ca_file=settings.rabbitmq_ca_file)
    keeper = Housekeeper(Publisher(broker), store, settings)
    broker_down = False  # an outage is logged once, its end once: not once per sweep
    while True:
        try:
            keeper.sweep()
            if broker_down:
                logger.warning("housekeeping: RabbitMQ reachable again, sweeping")
                broker_down = False
        except QueueUnavailable as error:
            if not broker_down:
                logger.warning("housekeeping waits for RabbitMQ: %s", error)
                broker_down = True
        except Exception:
            # Postgres down, a bad row: log it and try again next time rather than die.
            logger.exception("housekeeping sweep failed")
        time.sleep(settings.housekeeping_interval_s)


if __name__ == "__main__":
    sys.exit(run())
