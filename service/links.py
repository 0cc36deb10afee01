"""At start, each process tries its links to PostgreSQL and RabbitMQ once. A refusal — a certificate it
cannot trust, a login refused, a RabbitMQ vhost that does not exist — is a mistake in the configuration,
not an outage: it is said in one line with the fix, and the process stops (exit code 2) instead of
retrying forever. A server that merely does not answer yet is left to the usual retries."""

from __future__ import annotations

import logging
import sys
from urllib.parse import unquote, urlsplit

import pika
import pika.exceptions
import psycopg2

from actors.broker import make_broker
from config.settings import Settings

logger = logging.getLogger("facetasks.links")

# Words of OpenSSL's, libpq's and Python's messages when a certificate or its name is refused.
_TLS_REFUSALS = ("certificate", "host name", "hostname", "does not match", "does not support ssl")
# Words of libpq's messages when the server answers but will not let this role in.
_LOGIN_REFUSALS = ("password authentication failed", "does not exist", "no pg_hba.conf entry",
                   "authentication failed", "not permitted to log in", "permission denied")
CONNECT_TIMEOUT_S = 5
MISCONFIGURED_EXIT = 2


class Misconfigured(RuntimeError):
    """A server that answers but refuses this configuration; the message says what to change."""


class UntrustedLink(Misconfigured):
    """A TLS server whose certificate the configured CA does not vouch for (or names another host)."""


def _refused_by_tls(error: BaseException) -> bool:
    text = repr(error).lower()
    return any(word in text for word in _TLS_REFUSALS)


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def postgres_refusal(error: psycopg2.Error) -> str:
    """libpq's reason, without its "connection to server … failed: FATAL:" preamble."""
    return str(error).strip().split("FATAL:")[-1].strip().splitlines()[0]


def check_postgres(url: str) -> None:
    try:
        psycopg2.connect(url, connect_timeout=CONNECT_TIMEOUT_S).close()
    except psycopg2.OperationalError as error:
        if "sslmode=" in url and _refused_by_tls(error):
            raise UntrustedLink(
                f"PostgreSQL at {_where(url)} refused over TLS: {str(error).strip()} "
                f"(check sslrootcert, sslcert and sslkey in DATABASE_URL)"
            ) from None
        reason = postgres_refusal(error)
        database = urlsplit(url).path.lstrip("/")
        if reason == f'database "{database}" does not exist':
            return  # the migration creates it
        if any(word in reason for word in _LOGIN_REFUSALS):
            raise Misconfigured(_login_refused(url, reason)) from None


def _login_refused(url: str, reason: str) -> str:
    role = unquote(urlsplit(url).username or "") or "(your system user)"
    if "does not exist" in reason:
        fix = f"create the role as a superuser: sudo -u postgres createuser --createdb {role}"
    elif "permission denied" in reason:
        database = urlsplit(url).path.lstrip("/")
        fix = f"grant it as a superuser: GRANT CONNECT ON DATABASE {database} TO {role}"
    elif "pg_hba.conf" in reason:
        fix = "allow this host and role in the server's pg_hba.conf, then reload PostgreSQL"
    else:
        fix = f"correct the user or password in DATABASE_URL, or set it as a superuser: ALTER ROLE {role} PASSWORD '…'"
    return f"PostgreSQL at {_where(url)} refused role {role}: {reason} (DATABASE_URL); {fix}"


def check_rabbitmq(url: str, ca_file: str | None) -> None:
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
    where, user, vhost = f"{each.host}:{each.port}", each.credentials.username, each.virtual_host
    grant = f"rabbitmqctl set_permissions -p {vhost} {user} '.*' '.*' '.*'"
    try:
        pika.BlockingConnection(each).close()
    except pika.exceptions.ProbableAuthenticationError:
        raise Misconfigured(
            f"RabbitMQ at {where} refused the login of user {user} (RABBITMQ_URL); correct the user and password "
            f"in RABBITMQ_URL, or create the user: rabbitmqctl add_user {user} PASSWORD && {grant}"
        ) from None
    except pika.exceptions.ProbableAccessDeniedError as error:
        if "not found" in str(error):
            raise Misconfigured(
                f"RabbitMQ at {where} has no vhost {vhost} (RABBITMQ_URL); create it: "
                f"rabbitmqctl add_vhost {vhost} && {grant}"
            ) from None
        raise Misconfigured(
            f"RabbitMQ at {where} refused user {user} access to vhost {vhost} (RABBITMQ_URL); allow it: {grant}"
        ) from None
    except (pika.exceptions.AMQPError, OSError) as error:
        # A refused certificate comes out as the ssl module's own error, not pika's.
        if each.ssl_options is not None and _refused_by_tls(error):
            raise UntrustedLink(
                f"RabbitMQ at {where} refused over TLS: {error} "
                f"(check RABBITMQ_CA_FILE{f' = {ca_file}' if ca_file else ', unset: the system CAs'} "
                f"and that the certificate names {each.host})"
            ) from None


def exit_if_misconfigured(settings: Settings) -> None:
    """Stop the process with one clear line when PostgreSQL or RabbitMQ refuses this configuration."""
    try:
        check_postgres(settings.database_url)
        check_rabbitmq(settings.rabbitmq_url, settings.rabbitmq_ca_file)
    except Misconfigured as error:
        logger.error("%s", error)
        sys.exit(MISCONFIGURED_EXIT)
