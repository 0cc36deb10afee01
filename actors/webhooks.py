"""Completion webhooks: the task's summary POSTed, signed, to its callback URL when a run ends.

The receiver checks ``X-Facetasks-Signature: sha256=<hex>``, the HMAC-SHA256 with ``WEBHOOK_SECRET``
of ``<X-Facetasks-Timestamp>.<body>``; ``X-Facetasks-Event`` (``<task id>.<run>``) is the same for
every attempt of one end, to de-duplicate. Timeouts, connection errors, 408, 429 and 5xx are
retried by Dramatiq with backoff (``deliver_webhook`` declares the bound); another 4xx, a host no
longer in ``WEBHOOK_ALLOWED_HOSTS``, or a name that resolves only to addresses a webhook may not reach
(``reach.vetting``), ends the delivery. Every attempt is recorded on the task, with the reason
when no receiver answered.

The connection goes to the address vetted, not to the name: the URL's host is replaced by that address,
the ``Host`` header keeps the name, and for https the name is the TLS server name (SNI) and what the
certificate is checked against.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from urllib.parse import SplitResult, urlsplit
from uuid import UUID

import orjson
import requests
from requests.adapters import HTTPAdapter

from actors.messages import Publisher
from config.allowlist import Allowlist
from config.http_status import transient
from config.settings import Tuning
from reach.vetting import Refused, vetted_address
from representations.serialize import summary
from storage import webhooks
from storage.principals import signs_in_required

logger = logging.getLogger(__name__)

class WebhookNotDelivered(Exception):
    """The receiver did not take the webhook; it may later (Dramatiq retries it)."""


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def announce_end(publisher: Publisher, task_id: UUID, run: int) -> None:
    """Have the end of run ``run`` delivered, and note that it was handed over (housekeeping announces
    only ends never handed over: a worker that dies between the two announces it once more, harmlessly)."""
    publisher.announce(task_id, run)
    webhooks.mark_announced(task_id, run)


class _PinnedAdapter(HTTPAdapter):
    """Connections to an address, with TLS checking the certificate against ``host`` (and sending it as SNI)."""

    def __init__(self, host: str) -> None:
        self.host = host  # read by init_poolmanager, which the base constructor calls
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: object, **pool_kwargs: object) -> None:
        super().init_poolmanager(*args, server_hostname=self.host, **pool_kwargs)  # type: ignore[arg-type]


def _pinned(url: SplitResult, address: str) -> tuple[str, str]:
    """The URL with ``address`` in place of its host, and the ``Host`` header naming the host."""
    netloc = f"[{address}]" if ":" in address else address
    host = url.netloc.rpartition("@")[2]
    return url._replace(netloc=f"{netloc}:{url.port}" if url.port else netloc).geturl(), host


class WebhookSender:
    def __init__(
        self, secret: str | None, allowed_hosts: Allowlist, *, pair_set: bool = False,
        timeout_s: tuple[float, float] = Tuning.webhook_timeout_s,
    ) -> None:
        self.secret = (secret or "").encode()
        # Seconds to connect to a receiver, and to wait for its answer.
        self.timeout_s = timeout_s
        # Whether API_USERNAME/API_PASSWORD are set: then the body names the task's owner, as the API does.
        self.pair_set = pair_set
        self.allowed_hosts = allowed_hosts if secret else Allowlist()

    def deliver_webhook(self, task_id: str, run: int) -> None:
        """Deliver the end of run ``run`` of the task; nothing to do when delivered already."""
        task = webhooks.pending_delivery(UUID(task_id), run)
        if task is None:
            return
        url = urlsplit(task.callback_url)
        host = (url.hostname or "").lower()
        try:
            address = vetted_address(self.allowed_hosts, host, url.port or (443 if url.scheme == "https" else 80))
        except Refused as refused:
            webhooks.record_attempt(task.id, run, None, delivered=False, error=f"Not sent: {refused}.")
            logger.warning("task %s: webhook not sent: %s", task_id, refused)
            return
        except OSError as error:  # the name does not resolve, for now
            webhooks.record_attempt(task.id, run, None, delivered=False, error=f"{host} does not resolve: {error}")
            raise WebhookNotDelivered(f"task {task_id}: webhook not delivered: {host} does not resolve") from None
        target, host_header = _pinned(url, address)
        body = orjson.dumps(summary(task, owner=self.pair_set or signs_in_required()))
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "facetasks-webhook",
            "X-Facetasks-Event": f"{task_id}.{run}",
            "X-Facetasks-Timestamp": stamp,
            "X-Facetasks-Signature": signature(self.secret, stamp, body),
            "Host": host_header,
        }
        with requests.Session() as http:
            http.mount(f"{url.scheme}://", _PinnedAdapter(host))
            try:
                response = http.post(target, data=body, headers=headers, timeout=self.timeout_s, allow_redirects=False)
            except requests.RequestException as error:
                webhooks.record_attempt(task.id, run, None, delivered=False, error=f"No answer: {error}")
                raise WebhookNotDelivered(f"task {task_id}: webhook not delivered: {error}") from None
        status = response.status_code
        webhooks.record_attempt(task.id, run, status, delivered=200 <= status < 300)
        if transient(status):
            raise WebhookNotDelivered(f"task {task_id}: the webhook receiver answered {status}")
        if status >= 300:
            logger.warning("task %s: the webhook receiver refused it with %s; not sent again", task_id, status)
