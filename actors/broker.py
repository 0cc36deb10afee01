"""The RabbitMQ broker, with publisher confirms so a publish returns only once it is stored."""

from __future__ import annotations

from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.middleware import Middleware


def make_broker(url: str, middleware: list[Middleware] | None = None) -> RabbitmqBroker:
    """A broker for ``url``; it connects lazily, per thread, on first use."""
    return RabbitmqBroker(url=url, confirm_delivery=True, middleware=middleware or [])
