"""At start, each process tries its TLS links once: a certificate it cannot trust is a mistake in the
configuration, not an outage, so it is said plainly and the process stops (exit code 2) instead of
retrying forever. A server that merely does not answer yet is left to the usual retries."""

from __future__ import annotations

import logging
import sys
from urllib.parse import urlsplit

import pika
import pika.exceptions
import psycopg2

from actors.broker import make_broker
from service.settings import Settings

logger = logging.getLogger("facetasks.links")

# Words of OpenSSL's, libpq's and Python's messages when a certificate or its name is refused.
_TLS_REFUSALS = ("certificate", "host name", "hostname", "does not match", "does not support ssl")
CONNECT_TIMEOUT_S = 5
UNTRUSTED_EXIT = 2


class UntrustedLink(RuntimeError):
    """A TLS server whose certificate the configured CA does not vouch for (or names another host)."""


def _refused_by_tls(error: BaseException) -> bool:
    text = repr(error).lower()
    return any(word in text for word in _TLS_REFUSALS)


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def check_postgres(url: str) -> None:
    if "sslmode=" not in url:
        return
    try:
        psycopg2.connect(url, connect_timeout=CONNECT_TIMEOUT_S).close()
    except psycopg2.OperationalError as error:
        if _refused_by_tls(error):
            raise UntrustedLink(
                f"PostgreSQL at {_where(url)} refused over TLS: {str(error).strip()} "
                f"(check sslrootcert, sslcert and sslkey in DATABASE_URL)"
            ) from None


def check_rabbitmq(url: str, ca_file: str | None) -> None:
    if not url.startswith("amqps://"):
        return
    broker = make_broker(url, ca_file=ca_file)
    parameters = broker.parameters if isinstance(broker.parameters, list) else [broker.parameters]
    pika_logger = logging.getLogger("pika")
    level = pika_logger.level
    # pika logs every failed step with its traceback; the one line below says it all.
    pika_logger.setLevel(logging.CRITICAL)
    try:
        for each in parameters:
            _probe(each, ca_file)
    finally:
        pika_logger.setLevel(level)


def _probe(each: pika.ConnectionParameters, ca_file: str | None) -> None:
    each.connection_attempts, each.socket_timeout = 1, CONNECT_TIMEOUT_S
    try:
        pika.BlockingConnection(each).close()
    except (pika.exceptions.AMQPError, OSError) as error:
        # A refused certificate comes out as the ssl module's own error, not pika's.
        if _refused_by_tls(error):
            raise UntrustedLink(
                f"RabbitMQ at {each.host}:{each.port} refused over TLS: {error} "
                f"(check RABBITMQ_CA_FILE{f' = {ca_file}' if ca_file else ', unset: the system CAs'} "
                f"and that the certificate names {each.host})"
            ) from None


def exit_if_untrusted(settings: Settings) -> None:
    """Stop the process with a clear message when a TLS link's certificate is not trusted."""
    try:
        check_postgres(settings.database_url)
        check_rabbitmq(settings.rabbitmq_url, settings.rabbitmq_ca_file)
    except UntrustedLink as error:
        logger.error("%s", error)
        sys.exit(UNTRUSTED_EXIT)
