"""The RabbitMQ broker, with publisher confirms so a publish returns only once it is stored.

``amqps://`` URLs are verified: the server's certificate must chain to ``ca_file`` (the system's
CAs when none is given) and name the host of the URL.
"""

from __future__ import annotations

import ssl

import pika
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.middleware import Middleware


def make_broker(url: str, middleware: list[Middleware] | None = None, ca_file: str | None = None) -> RabbitmqBroker:
    """A broker for ``url``; it connects lazily, per thread, on first use."""
    broker = RabbitmqBroker(url=url, confirm_delivery=True, middleware=middleware or [])
    parameters = broker.parameters if isinstance(broker.parameters, list) else [broker.parameters]
    for each in parameters:
        if each.ssl_options is not None:
            # pika's own amqps:// context checks no host name (it is given none): name the URL's host.
            context = ssl.create_default_context(cafile=ca_file)
            each.ssl_options = pika.SSLOptions(context, server_hostname=each.host)
    return broker
