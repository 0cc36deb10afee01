"""Worker start-up: ``dramatiq actors.worker:setup`` calls ``setup()`` in every worker process.

This is the only place on the worker side that reads the environment; it builds the
database pool, the detector, the broker and its middleware, and declares the actors.
"""

from __future__ import annotations

import logging

import dramatiq
from dramatiq.middleware import CurrentMessage, Middleware, Retries, TimeLimit

from actors import metrics, timeline
from actors.broker import make_broker
from actors.dispatcher import Dispatcher
from actors.messages import (
    AGGREGATE_ACTOR,
    AGGREGATE_QUEUE,
    DETECT_ACTOR,
    DETECT_QUEUE,
    DISPATCH_ACTOR,
    WEBHOOK_ACTOR,
    WEBHOOK_QUEUE,
    Publisher,
)
from actors.middleware import DatabaseConnections, DetectorReady, FailImageWhenGivenUp, LogContext
from actors.outage import BrokerOutage
from actors.outbox import Outbox
from actors.stages import Stages
from actors.webhook_pool import WebhookPool
from actors.webhooks import WebhookSender
from config.settings import Settings
from detectors.base import BadImageError, DetectorAuthError
from detectors.factory import make_detector
from storage.db import init_db
from storage.store_metrics import StoreMetrics
from storage.stores import open_store


def declare_actors(broker: dramatiq.Broker, stages: Stages, sender: WebhookSender, settings: Settings) -> None:
    dramatiq.actor(
        stages.detect_image,
        broker=broker,
        actor_name=DETECT_ACTOR,
        queue_name=DETECT_QUEUE,
        max_retries=settings.detect_max_retries,
        min_backoff=settings.retry_min_backoff_ms,
        max_backoff=settings.retry_max_backoff_ms,
        time_limit=settings.tuning.detect_time_limit_ms,
        throws=(BadImageError, DetectorAuthError),
    )
    # The control stages: few messages, on a queue of their own so they never wait behind detections.
    for stage, name in ((stages.dispatch_task, DISPATCH_ACTOR), (stages.aggregate_task, AGGREGATE_ACTOR)):
        dramatiq.actor(
            stage,
            broker=broker,
            actor_name=name,
            queue_name=AGGREGATE_QUEUE,
            max_retries=settings.tuning.aggregate_max_retries,
            min_backoff=settings.retry_min_backoff_ms,
            max_backoff=settings.retry_max_backoff_ms,
        )
    dramatiq.actor(
        sender.deliver_webhook,
        broker=broker,
        actor_name=WEBHOOK_ACTOR,
        queue_name=WEBHOOK_QUEUE,
        max_retries=settings.tuning.webhook_max_retries,
        min_backoff=settings.tuning.webhook_min_backoff_ms,
        max_backoff=settings.tuning.webhook_max_backoff_ms,
    )


def dramatiq_middleware() -> list[Middleware]:
    """Dramatiq's own middleware the actors use: time limits, retries, the current message.

    Its other defaults (age limits, callbacks, pipelines, shutdown notifications) serve no actor here,
    and every middleware costs every message a call per hook.
    """
    return [TimeLimit(), Retries(), CurrentMessage()]


def serve_metrics() -> None:
    """Dramatiq's exposition fork: every worker process's metrics, on the host and port of the settings."""
    settings = Settings.from_env()
    settings.configure_logging()
    metrics.serve(settings.worker_metrics_host, settings.worker_metrics_port)


def setup() -> None:
    settings = Settings.from_env()
    settings.configure_logging()
    prometheus = metrics.enable(serve_metrics)
    init_db(settings.database_url, max_connections=settings.worker_threads + settings.webhook_threads + 3)
    middleware = [
        LogContext(),
        DatabaseConnections(),
        *dramatiq_middleware(),
        prometheus,
        WebhookPool(settings.webhook_threads, settings.worker_stop_grace_s * 1000),
    ]
    if timeline.enabled():
        middleware.append(timeline.Timeline(DETECT_ACTOR, DISPATCH_ACTOR))
    broker = make_broker(settings.rabbitmq_url, middleware, settings.rabbitmq_ca_file)
    dramatiq.set_broker(broker)
    detector = metrics.MeasuredDetector(make_detector(settings), settings.detector)
    publisher = Publisher(broker)
    store = open_store(settings.image_store_url, settings.s3_endpoint_url, settings.worker_threads)
    store.watch(StoreMetrics(None).observe)  # registry=None: multiprocess mode, after metrics.enable()
    dispatcher = Dispatcher(publisher, settings.task_window)
    outage = BrokerOutage(dispatcher)
    for handler in logging.getLogger().handlers:
        handler.addFilter(outage.log_filter())
    outbox = Outbox(dispatcher, outage)
    broker.add_middleware(outbox)
    broker.add_middleware(DetectorReady(detector))
    stages = Stages(
        detector, store, publisher, dispatcher, settings.max_attempts, settings.max_image_pixels,
        detector.count_repeat, outbox.put,
    )
    # Dramatiq runs after_* hooks last-added first: placed before Retries, the give-up
    # hook sees Retries' decision, and runs while the database connection is still open.
    broker.add_middleware(FailImageWhenGivenUp(DETECT_ACTOR, stages.fail_image), before=Retries)
    sender = WebhookSender(settings.webhook_secret, settings.webhook_hosts, pair_set=settings.auth_enabled,
                           timeout_s=settings.tuning.webhook_timeout_s)
    declare_actors(broker, stages, sender, settings)
    logging.getLogger(__name__).info(
        "worker ready: detector=%s threads=%d images=%s", settings.detector, settings.worker_threads, store.where
    )
