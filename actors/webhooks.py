"""Completion webhooks: the task's summary POSTed, signed, to its callback URL when a run ends.

The receiver checks ``X-Facetasks-Signature: sha256=<hex>``, the HMAC-SHA256 with ``WEBHOOK_SECRET``
of ``<X-Facetasks-Timestamp>.<body>``; ``X-Facetasks-Event`` (``<task id>.<run>``) is the same for
every attempt of one end, to de-duplicate. Timeouts, connection errors, 408, 429 and 5xx are
retried by Dramatiq with backoff (``deliver_webhook`` declares the bound); another 4xx, or a host no
longer in ``WEBHOOK_ALLOWED_HOSTS``, ends the delivery. Every attempt is recorded on the task.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from urllib.parse import urlsplit
from uuid import UUID

import orjson
import requests

from api.serialize import summary
from storage import webhooks
from storage.principals import signs_in_required

logger = logging.getLogger(__name__)

# Seconds to connect to a receiver, and to wait for its answer.
TIMEOUT_S = (5, 10)


class WebhookNotDelivered(Exception):
    """The receiver did not take the webhook; it may later (Dramatiq retries it)."""


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class WebhookSender:
    def __init__(self, secret: str | None, allowed_hosts: frozenset[str], *, pair_set: bool = False) -> None:
        self.secret = (secret or "").encode()
        # Whether API_USERNAME/API_PASSWORD are set: then the body names the task's owner, as the API does.
        self.pair_set = pair_set
        self.allowed_hosts = allowed_hosts if secret else frozenset()
        self.http = requests.Session()

    def deliver_webhook(self, task_id: str, run: int) -> None:
        """Deliver the end of run ``run`` of the task; nothing to do when delivered already."""
        task = webhooks.pending_delivery(UUID(task_id), run)
        if task is None:
            return
        host = (urlsplit(task.callback_url).hostname or "").lower()
        if host not in self.allowed_hosts:
            webhooks.record_attempt(task.id, run, None, delivered=False)
            logger.warning("task %s: webhook to %s not sent: the host is not allowed (now)", task_id, host)
            return
        body = orjson.dumps(summary(task, owner=self.pair_set or signs_in_required()))
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "facetasks-webhook",
            "X-Facetasks-Event": f"{task_id}.{run}",
            "X-Facetasks-Timestamp": stamp,
            "X-Facetasks-Signature": signature(self.secret, stamp, body),
        }
        try:
            response = self.http.post(task.callback_url, data=body, headers=headers, timeout=TIMEOUT_S,
                                      allow_redirects=False)
        except requests.RequestException as error:
            webhooks.record_attempt(task.id, run, None, delivered=False)
            raise WebhookNotDelivered(f"task {task_id}: webhook not delivered: {error}") from None
        status = response.status_code
        webhooks.record_attempt(task.id, run, status, delivered=200 <= status < 300)
        if status in (408, 429) or status >= 500:
            raise WebhookNotDelivered(f"task {task_id}: the webhook receiver answered {status}")
        if status >= 300:
            logger.warning("task %s: the webhook receiver refused it with %s; not sent again", task_id, status)
