"""Configuration, read from the environment in this one place (moved here from ``service/settings.py``: the
``config`` package is the floor every layer may import, and imports nothing of ours).

Every other module is handed the values it needs; nothing else reads ``os.environ``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

from config.allowlist import NOWHERE, Allowlist
from config.logs import configure_logging

# Default WORKER_THREADS by detector: 8 threads wait on FaceCloud in parallel, while the local
# model computes under a lock, so a second thread per process only overlaps database and file work.
FACECLOUD_THREADS = 8
LOCAL_THREADS = 2


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


def _allowlist(env: Mapping[str, str]) -> Allowlist:
    try:
        return Allowlist.parse(env.get("WEBHOOK_ALLOWED_HOSTS", ""))
    except ValueError as error:
        raise SettingsError(f"WEBHOOK_ALLOWED_HOSTS: {error}") from None


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, above: float | None = None) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if above is not None and not value > above:
        raise SettingsError(f"{name} must be more than {above:g}, got {raw}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.get(name, "").strip().lower() or default
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _file_url(folder: str) -> str:
    return "file://" + quote(str(Path(folder).resolve()))


def _storage_url(env: Mapping[str, str], storage_dir: str) -> str:
    """STORAGE_URL, or a file:// URL for STORAGE_DIR (made absolute here, once)."""
    url = env.get("STORAGE_URL", "").strip()
    if not url:
        return _file_url(storage_dir)
    parts = urlsplit(url)
    if parts.scheme == "file" and parts.path.startswith("/") and parts.netloc in ("", "localhost"):
        return url
    if parts.scheme == "s3" and parts.netloc and not parts.query:
        return url
    raise SettingsError(
        f"STORAGE_URL must be file:///absolute/path or s3://bucket/optional/prefix, got {url!r}"
    )


def _ca_file(env: Mapping[str, str]) -> str | None:
    path = env.get("RABBITMQ_CA_FILE", "").strip()
    if path and not os.path.isfile(path):
        raise SettingsError(f"RABBITMQ_CA_FILE names no readable file: {path!r}")
    return path or None


@dataclass(frozen=True)
class Tuning:
    """Figures the service is tuned with, not read from the environment: chosen once, here, for every
    module that uses them."""

    # An image's whole processing, retries excluded, must end well within RabbitMQ's 30-minute consumer
    # timeout: a detect call that hangs longer than this (ms) is interrupted.
    detect_time_limit_ms: int = 5 * 60 * 1000
    aggregate_max_retries: int = 20
    # A webhook receiver that is down is tried 9 times over about 40 minutes (1 s to 10 min apart).
    webhook_max_retries: int = 8
    webhook_min_backoff_ms: int = 1_000
    webhook_max_backoff_ms: int = 10 * 60 * 1000
    # Seconds to connect to a webhook receiver, and to wait for its answer.
    webhook_timeout_s: tuple[float, float] = (5, 10)
    # A run whose last image ended this long ago (s) without being finished lost its message.
    unfinished_after_s: int = 30
    # Images re-sent per housekeeping sweep at most: a huge backlog is drained over several sweeps.
    resend_batch: int = 1000
    # Upload temp files older than this (s) belong to requests that died.
    stray_upload_s: int = 3600
    # Images looked up in PostgreSQL per query by the orphan sweep.
    orphan_batch: int = 1000


@dataclass(frozen=True)
class Settings:
    database_url: str = "postgresql://postgres@127.0.0.1:5432/facetasks"
    rabbitmq_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    storage_dir: str = "./data/images"
    host: str = "127.0.0.1"
    port: int = 8080
    # Fixed knobs (not read from the environment; compose's stop_grace_period values are chosen
    # against the two graces). waitress serves requests on api_threads threads, each of which may
    # hold one pooled connection. A stopping API keeps answering the requests it had begun
    # (uploads included) for up to api_stop_grace_s seconds; a stopping worker process gives its
    # in-flight images worker_stop_grace_s seconds before leaving them to redelivery (one detector
    # call, FACECLOUD_TIMEOUT_S, and its commit). ``make run`` allows the longer of the two plus 5 s.
    api_threads: int = 8
    api_stop_grace_s: int = 20
    worker_stop_grace_s: int = 45
    api_username: str | None = None
    api_password: str | None = field(default=None, repr=False)
    # The HMAC key API keys are hashed with (api/keys.py); unset: the random one migration 0005 stored
    # in the database. Changing it invalidates every key.
    api_key_secret: str | None = field(default=None, repr=False)
    # Failed authentications one client address may make a minute, per API process, before 429.
    auth_failures_per_minute: int = 10
    detector: str = "local"
    facecloud_url: str = "https://backend.facecloud.tevian.ru/api/v1"
    facecloud_email: str | None = None
    facecloud_password: str | None = field(default=None, repr=False)
    facecloud_timeout_s: float = 30.0
    # The local detector (detectors/local.py documents each knob).
    local_min_score: float = 0.6
    local_min_gender_confidence: float = 0.6
    local_min_face_px: int = 20
    local_max_detect_pixels: int = 2_000_000
    worker_processes: int = os.cpu_count() or 1
    worker_threads: int = FACECLOUD_THREADS
    # Threads of each worker process that deliver webhooks, apart from those above (actors/webhook_pool.py):
    # receivers slow to answer wait on these, never on the detections.
    webhook_threads: int = 4
    max_image_bytes: int = 10 * 1024 * 1024
    # Pixels an image may have, read from its header before any decode: 120 MP lets through every
    # camera sold today, medium format (102 MP) included.
    max_image_pixels: int = 120_000_000
    # Completion webhooks: the HMAC key and the hosts callbacks may go to (both set, or webhooks are off).
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_allowed_hosts: Allowlist = NOWHERE
    # An archive upload (api/archives.py), in bytes, and what it may unpack to.
    max_archive_bytes: int = 1024 * 1024 * 1024
    # Most images of one running task queued or processing at a time: large enough to keep
    # every worker thread busy on one task (2 x 8 here), small enough that a task started
    # later waits behind at most this many messages per running task (make bench: fairness).
    task_window: int = 64
    # The workers' Prometheus exporter (one per host, for every worker process): loopback unless told.
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = 9191
    # Seconds a DELETE waits for the workers holding the task (a claim until its detector call has
    # begun, normally milliseconds) before answering 503 with Retry-After.
    delete_lock_timeout_s: float = 5.0
    log_level: str = "info"
    log_format: str = "text"
    log_file: str | None = None
    # Transient detector errors are retried by Dramatiq with exponential backoff and
    # jitter: with the defaults, 6 tries spread over at most ~2.5 minutes, far under
    # RabbitMQ's 30-minute consumer timeout.
    detect_max_retries: int = 5
    retry_min_backoff_ms: int = 2_000
    retry_max_backoff_ms: int = 60_000
    # Housekeeping (a process next to the workers) sweeps every this many seconds: it
    # puts back images whose claim is older than stale_claim_s (no detect call may run
    # that long: the actor's time limit is 5 minutes, plus backoff), re-sends queued
    # images that waited unsent_after_s with no message in the queue, and finishes or
    # purges tasks nobody else did.
    housekeeping_interval_s: int = 10
    stale_claim_s: int = 600
    unsent_after_s: int = 60
    # --- Several hosts (docs/several-hosts.md): the image store and the links' TLS. ---
    # The image store: file:///path (STORAGE_DIR is its shorthand) or s3://bucket/prefix; "" until
    # from_env, where STORAGE_DIR is made absolute. S3_ENDPOINT_URL for a store that is not AWS; boto3
    # reads the AWS_* variables, profiles and instance roles itself (the standard credential chain).
    storage_url: str = ""
    s3_endpoint_url: str | None = None
    # Housekeeping removes an image object that no row names once it is this old: an upload whose
    # request died between the object and the row's commit. Far longer than any upload takes.
    store_orphan_grace_s: int = 3600
    # The CA that signs RabbitMQ's certificate, for amqps:// (PostgreSQL's goes in DATABASE_URL).
    rabbitmq_ca_file: str | None = None
    tuning: Tuning = field(default_factory=Tuning)

    @property
    def image_store_url(self) -> str:
        """The store to use: STORAGE_URL, else STORAGE_DIR's folder."""
        return self.storage_url or _file_url(self.storage_dir)

    @property
    def stop_grace_s(self) -> int:
        """Seconds the ``make run`` supervisor waits for its processes to stop before killing them."""
        return max(self.api_stop_grace_s, self.worker_stop_grace_s) + 5

    @property
    def max_attempts(self) -> int:
        """Claims an image may have in one run: every retry, plus two worker deaths."""
        return self.detect_max_retries + 1 + 2

    def configure_logging(self) -> None:
        configure_logging(self.log_level, self.log_format, self.log_file)

    @property
    def webhook_hosts(self) -> Allowlist:
        """The hosts callbacks may go to; empty (webhooks off) unless a secret is set too."""
        return self.webhook_allowed_hosts if self.webhook_secret else NOWHERE

    @property
    def auth_enabled(self) -> bool:
        return bool(self.api_username and self.api_password)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        defaults = cls()
        detector = _choice(env, "DETECTOR", defaults.detector, ("local", "facecloud"))
        return cls(
            database_url=env.get("DATABASE_URL") or defaults.database_url,
            rabbitmq_url=env.get("RABBITMQ_URL") or defaults.rabbitmq_url,
            storage_dir=env.get("STORAGE_DIR") or defaults.storage_dir,
            host=env.get("HOST") or defaults.host,
            port=_int(env, "PORT", defaults.port, minimum=1),
            api_username=env.get("API_USERNAME") or None,
            api_password=env.get("API_PASSWORD") or None,
            api_key_secret=env.get("API_KEY_SECRET") or None,
            auth_failures_per_minute=_int(
                env, "AUTH_FAILURES_PER_MINUTE", defaults.auth_failures_per_minute, minimum=1
            ),
            detector=detector,
            facecloud_url=env.get("FACECLOUD_URL") or defaults.facecloud_url,
            facecloud_email=env.get("FACECLOUD_EMAIL") or None,
            facecloud_password=env.get("FACECLOUD_PASSWORD") or None,
            facecloud_timeout_s=float(_int(env, "FACECLOUD_TIMEOUT_S", int(defaults.facecloud_timeout_s), minimum=1)),
            local_min_score=_float(env, "LOCAL_MIN_SCORE", defaults.local_min_score),
            local_min_gender_confidence=_float(
                env, "LOCAL_MIN_GENDER_CONFIDENCE", defaults.local_min_gender_confidence
            ),
            local_min_face_px=_int(env, "LOCAL_MIN_FACE_PX", defaults.local_min_face_px, minimum=1),
            local_max_detect_pixels=_int(
                env, "LOCAL_MAX_DETECT_PIXELS", defaults.local_max_detect_pixels, minimum=4096
            ),
            worker_processes=_int(env, "WORKER_PROCESSES", defaults.worker_processes, minimum=1),
            worker_metrics_host=env.get("WORKER_METRICS_HOST") or defaults.worker_metrics_host,
            worker_metrics_port=_int(env, "WORKER_METRICS_PORT", defaults.worker_metrics_port, minimum=1),
            webhook_threads=_int(env, "WEBHOOK_THREADS", defaults.webhook_threads, minimum=1),
            worker_threads=_int(
                env, "WORKER_THREADS", FACECLOUD_THREADS if detector == "facecloud" else LOCAL_THREADS, minimum=1
            ),
            max_image_bytes=_int(env, "MAX_IMAGE_BYTES", defaults.max_image_bytes, minimum=1),
            max_image_pixels=_int(env, "MAX_IMAGE_PIXELS", defaults.max_image_pixels, minimum=1),
            task_window=_int(env, "TASK_WINDOW", defaults.task_window, minimum=1),
            delete_lock_timeout_s=_float(env, "DELETE_LOCK_TIMEOUT_S", defaults.delete_lock_timeout_s, above=0),
            max_archive_bytes=_int(env, "MAX_ARCHIVE_BYTES", defaults.max_archive_bytes, minimum=1),
            webhook_secret=env.get("WEBHOOK_SECRET") or None,
            webhook_allowed_hosts=_allowlist(env),
            log_level=_choice(env, "LOG_LEVEL", defaults.log_level, ("error", "info", "debug", "debug-raw")),
            log_format=_choice(env, "LOG_FORMAT", defaults.log_format, ("text", "json")),
            log_file=env.get("LOG_FILE") or None,
            detect_max_retries=_int(env, "DETECT_MAX_RETRIES", defaults.detect_max_retries),
            retry_min_backoff_ms=_int(env, "RETRY_MIN_BACKOFF_MS", defaults.retry_min_backoff_ms, minimum=1),
            retry_max_backoff_ms=_int(env, "RETRY_MAX_BACKOFF_MS", defaults.retry_max_backoff_ms, minimum=1),
            housekeeping_interval_s=_int(env, "HOUSEKEEPING_INTERVAL_S", defaults.housekeeping_interval_s, minimum=1),
            stale_claim_s=_int(env, "STALE_CLAIM_S", defaults.stale_claim_s, minimum=1),
            unsent_after_s=_int(env, "UNSENT_AFTER_S", defaults.unsent_after_s, minimum=1),
            storage_url=_storage_url(env, env.get("STORAGE_DIR") or defaults.storage_dir),
            s3_endpoint_url=env.get("S3_ENDPOINT_URL") or None,
            store_orphan_grace_s=_int(env, "STORE_ORPHAN_GRACE_S", defaults.store_orphan_grace_s, minimum=1),
            rabbitmq_ca_file=_ca_file(env),
        )


#: Prefixes of variables read by the libraries the service configures (boto3's credentials, Dramatiq's
#: Prometheus exporter), not by :class:`Settings`.
LIBRARY_PREFIXES = ("AWS_", "dramatiq_", "prometheus_", "PROMETHEUS_")


class _Remembering(dict):
    """An empty environment that remembers every name it is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, name: str, default: str | None = None) -> str | None:
        self.asked.add(name)
        return default


def setting_names() -> frozenset[str]:
    """The name of every environment variable :meth:`Settings.from_env` reads."""
    environment = _Remembering()
    Settings.from_env(environment)
    return frozenset(environment.asked)


def without_settings(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without any variable that configures the service or its libraries.

    For the processes a test or the benchmark starts with settings of its own: a developer's shell
    (``LOCAL_MIN_SCORE``, ``TASK_WINDOW``, ``WEBHOOK_SECRET``...) must not leak into them.
    """
    ours = setting_names()
    return {name: value for name, value in env.items() if name not in ours and not name.startswith(LIBRARY_PREFIXES)}

