"""``callback_url`` of a new task: where its end is announced, limited to ``WEBHOOK_ALLOWED_HOSTS``.

The allowlist is the guard against server-side request forgery: without it, anybody who may create
a task could make the workers POST to any address they reach (internal services, cloud metadata).
Here the URL is checked against what can be known without resolving its host (``config.allowlist``):
a name or an address with a port the allowlist does not hold is refused; where a listed name leads is
vetted at each delivery. With no allowlist (or no ``WEBHOOK_SECRET``) webhooks are off and a
``callback_url`` is refused rather than silently ignored.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import falcon

from config.allowlist import Allowlist

MAX_URL_LENGTH = 2048


def _refused(reason: str) -> falcon.HTTPError:
    return falcon.HTTPBadRequest(title="Invalid callback_url", description=f'"callback_url" {reason}.')


def checked_callback(value: object, allowed_hosts: Allowlist) -> str | None:
    """``value`` if it may be a task's callback URL, None if absent; 400 saying why otherwise."""
    if value is None:
        return None
    if not allowed_hosts:
        raise _refused("cannot be used: webhooks are off on this service (no WEBHOOK_ALLOWED_HOSTS or WEBHOOK_SECRET)")
    if not isinstance(value, str) or not value or len(value) > MAX_URL_LENGTH or "\x00" in value:
        raise _refused(f"must be an http or https URL of at most {MAX_URL_LENGTH} characters")
    try:
        url = urlsplit(value)
        host = (url.hostname or "").lower()
        port = url.port or (443 if url.scheme == "https" else 80)  # ValueError for a port that is not a number
    except ValueError:
        raise _refused("is not a valid URL") from None
    if url.scheme not in ("http", "https") or not host or url.username or url.password:
        raise _refused("must be an http or https URL with a host and no credentials")
    refusal = allowed_hosts.refusal(host, port)
    if refusal:
        raise _refused(refusal)
    return value
