"""The app factory: ``create_app`` builds the API from the parts it is handed.

Only ``get_app`` reads the environment (waitress calls it: ``waitress-serve --call
api.app:get_app``); tests call ``create_app`` with their own parts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import falcon
import orjson

from actors.broker import make_broker
from actors.messages import Publisher
from api import errors, metrics, tasks, users, web
from api.annotated import AnnotatedImage
from api.archives import Limits
from api.authentication import Authentication
from api.database import CloseConnection
from api.export import FacesCsv
from api.health import Health
from api.images import ImageCollection, ImageFile
from api.keys import Credentials, Principal
from api.ownership import Ownership
from api.ratelimit import FailureLimit
from api.requestlog import RequestLog
from api.security import SecurityHeaders
from config.allowlist import NOWHERE, Allowlist
from config.settings import Settings
from storage.db import db, init_db
from storage.principals import NameTaken, bootstrap_user, hash_secret, signs_in_required
from storage.store import ImageStore
from storage.stores import open_store

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Parts:
    store: ImageStore
    publisher: Publisher
    max_image_bytes: int
    # The bootstrap admin's pair (API_USERNAME, API_PASSWORD).
    credentials: tuple[str, str] | None = None
    max_archive_bytes: int = Settings.max_archive_bytes
    max_image_pixels: int = Settings.max_image_pixels
    # Hosts a task's callback_url may name; empty: webhooks are off.
    webhook_hosts: Allowlist = NOWHERE
    # Longest a DELETE waits for workers to begin the calls they claimed before answering 503.
    delete_lock_timeout_s: float = Settings.delete_lock_timeout_s
    # The HMAC key of API keys' hashes; None: the one stored in the database.
    key_secret: bytes | None = None
    # Failed authentications a client address may make a minute before it gets 429 (api/ratelimit.py);
    # None: no limit (get_app always sets one, AUTH_FAILURES_PER_MINUTE).
    auth_failures_per_minute: int | None = None


def credentials_of(parts: Parts) -> Credentials:
    """The bootstrap admin (named after the pair's user, when there is a pair) and the HMAC key."""
    with db.connection_context():
        bootstrap = bootstrap_user(parts.credentials[0] if parts.credentials else None)
        hmac_key = parts.key_secret or hash_secret()
    return Credentials(hmac_key, parts.credentials, Principal(bootstrap.id, bootstrap.name, bootstrap.role))


def create_app(parts: Parts) -> falcon.App:
    credentials = credentials_of(parts)
    app = falcon.App()
    # orjson writes a 1,000-image task ten times faster than the standard library.
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = falcon.media.JSONHandler(dumps=orjson.dumps)
    errors.install(app)
    app.add_middleware(SecurityHeaders())
    app.add_middleware(RequestLog())
    app.add_middleware(metrics.install(app, parts.store))
    app.add_middleware(CloseConnection())
    limit = parts.auth_failures_per_minute
    app.add_middleware(Authentication(credentials, FailureLimit(limit) if limit else None))
    app.add_middleware(Ownership())
    # Trailing slashes are forgiven: /api/v1/tasks/ is /api/v1/tasks.
    app.req_options.strip_url_path_trailing_slash = True

    app.add_route("/health", Health(parts.publisher, parts.store))
    app.add_route("/api/v1/tasks", tasks.TaskCollection(parts.webhook_hosts))
    app.add_route("/api/v1/tasks/{task_id:uuid}", tasks.TaskItem(parts.store, parts.delete_lock_timeout_s))
    app.add_route("/api/v1/tasks/{task_id:uuid}/start", tasks.start(parts.publisher))
    app.add_route("/api/v1/tasks/{task_id:uuid}/retry", tasks.retry(parts.publisher))
    limits = Limits(parts.max_image_bytes, parts.max_image_pixels, parts.max_archive_bytes)
    images = ImageCollection(parts.store, limits)
    app.add_route("/api/v1/tasks/{task_id:uuid}/images", images)
    app.add_route("/api/v1/tasks/{task_id:uuid}/images/{image_id:uuid}/file", ImageFile(parts.store))
    app.add_route("/api/v1/tasks/{task_id:uuid}/images/{image_id:uuid}/annotated", AnnotatedImage(parts.store))
    app.add_route("/api/v1/tasks/{task_id:uuid}/faces.csv", FacesCsv())
    app.add_route("/api/v1/users", users.Users())
    app.add_route("/api/v1/users/{name}", users.UserItem())
    app.add_route("/api/v1/keys", users.Keys(credentials))
    app.add_route("/api/v1/keys/{key_id}", users.KeyItem())
    app.add_route("/api/v1/me", users.Me())
    web.install(app)
    return app


def get_app(settings: Settings | None = None) -> falcon.App:
    settings = settings or Settings.from_env()
    settings.configure_logging()
    init_db(settings.database_url, max_connections=settings.api_threads + 2)
    credentials = (settings.api_username, settings.api_password) if settings.auth_enabled else None
    parts = Parts(
        store=open_store(settings.image_store_url, settings.s3_endpoint_url, settings.api_threads),
        publisher=Publisher(make_broker(settings.rabbitmq_url, ca_file=settings.rabbitmq_ca_file)),
        max_image_bytes=settings.max_image_bytes,
        credentials=credentials,
        max_archive_bytes=settings.max_archive_bytes,
        max_image_pixels=settings.max_image_pixels,
        webhook_hosts=settings.webhook_hosts,
        delete_lock_timeout_s=settings.delete_lock_timeout_s,
        key_secret=settings.api_key_secret.encode() if settings.api_key_secret else None,
        auth_failures_per_minute=settings.auth_failures_per_minute,
    )
    try:
        app = create_app(parts)
    except NameTaken as taken:
        raise SystemExit(f"API_USERNAME={taken} is also the name of a user in the database: choose another") from None
    with db.connection_context():
        still_open = credentials is None and not signs_in_required()
    if still_open:
        logger.warning("the API is open: no API_USERNAME/API_PASSWORD and no user or key yet; anyone who can reach "
                       "it may use every /api/v1 route (docs/users-and-keys.md)")
    return app
