"""The app factory: ``create_app`` builds the API from the parts it is handed.

Only ``get_app`` reads the environment (waitress calls it: ``waitress-serve --call
api.app:get_app``); tests call ``create_app`` with their own parts.
"""

from __future__ import annotations

from dataclasses import dataclass

import falcon
import orjson

from actors.broker import make_broker
from actors.messages import Pipeline
from api import errors, metrics, tasks, web
from api.annotated import AnnotatedImage
from api.archives import Limits
from api.auth import BasicAuth
from api.database import CloseConnection
from api.export import FacesCsv
from api.health import Health
from api.images import ImageCollection, ImageFile
from api.requestlog import RequestLog
from api.security import SecurityHeaders
from service.settings import Settings
from service.webhook_reach import NOWHERE, Allowlist
from storage.db import init_db
from storage.store import ImageStore
from storage.stores import open_store


@dataclass(frozen=True)
class Parts:
    store: ImageStore
    pipeline: Pipeline
    max_image_bytes: int
    credentials: tuple[str, str] | None = None
    max_archive_bytes: int = 1024**3
    max_image_pixels: int = 120_000_000
    # Hosts a task's callback_url may name; empty: webhooks are off.
    webhook_hosts: Allowlist = NOWHERE
    # Longest a DELETE waits for workers to begin the calls they claimed before answering 503.
    delete_lock_timeout_s: float = 5.0


def create_app(parts: Parts) -> falcon.App:
    app = falcon.App()
    # orjson writes a 1,000-image task ten times faster than the standard library.
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = falcon.media.JSONHandler(dumps=orjson.dumps)
    errors.install(app)
    app.add_middleware(SecurityHeaders())
    app.add_middleware(RequestLog())
    app.add_middleware(metrics.install(app, parts.store))
    if parts.credentials:
        app.add_middleware(BasicAuth(*parts.credentials))
    app.add_middleware(CloseConnection())
    # Trailing slashes are forgiven: /api/v1/tasks/ is /api/v1/tasks.
    app.req_options.strip_url_path_trailing_slash = True

    app.add_route("/health", Health(parts.pipeline, parts.store))
    app.add_route("/api/v1/tasks", tasks.TaskCollection(parts.webhook_hosts))
    app.add_route("/api/v1/tasks/{task_id:uuid}", tasks.TaskItem(parts.store, parts.delete_lock_timeout_s))
    app.add_route("/api/v1/tasks/{task_id:uuid}/start", tasks.start(parts.pipeline))
    app.add_route("/api/v1/tasks/{task_id:uuid}/retry", tasks.retry(parts.pipeline))
    limits = Limits(parts.max_image_bytes, parts.max_image_pixels, parts.max_archive_bytes)
    images = ImageCollection(parts.store, limits)
    app.add_route("/api/v1/tasks/{task_id:uuid}/images", images)
    app.add_route("/api/v1/tasks/{task_id:uuid}/images/{image_id:uuid}/file", ImageFile(parts.store))
    app.add_route("/api/v1/tasks/{task_id:uuid}/images/{image_id:uuid}/annotated", AnnotatedImage(parts.store))
    app.add_route("/api/v1/tasks/{task_id:uuid}/faces.csv", FacesCsv())
    web.install(app)
    return app


def get_app(settings: Settings | None = None) -> falcon.App:
    settings = settings or Settings.from_env()
    settings.configure_logging()
    init_db(settings.database_url, max_connections=settings.api_threads + 2)
    credentials = (settings.api_username, settings.api_password) if settings.auth_enabled else None
    return create_app(
        Parts(
            store=open_store(settings.image_store_url, settings.s3_endpoint_url, settings.api_threads),
            pipeline=Pipeline(make_broker(settings.rabbitmq_url, ca_file=settings.rabbitmq_ca_file)),
            max_image_bytes=settings.max_image_bytes,
            credentials=credentials,
            max_archive_bytes=settings.max_archive_bytes,
            max_image_pixels=settings.max_image_pixels,
            webhook_hosts=settings.webhook_hosts,
            delete_lock_timeout_s=settings.delete_lock_timeout_s,
        )
    )
