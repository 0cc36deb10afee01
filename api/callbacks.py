"""``callback_url`` of a new task: where its end is announced, limited to ``WEBHOOK_ALLOWED_HOSTS``.

The allowlist is the guard against server-side request forgery: without it, anybody who may create
a task could make the workers POST to any address they reach (internal services, cloud metadata).
Hosts are compared by name, as written in the URL; with no allowlist (or no ``WEBHOOK_SECRET``)
webhooks are off and a ``callback_url`` is refused rather than silently ignored.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import falcon

MAX_URL_LENGTH = 2048


def _refused(reason: str) -> falcon.HTTPError:
    return falcon.HTTPBadRequest(title="Invalid callback_url", description=f'"callback_url" {reason}.')


def checked_callback(value: object, allowed_hosts: frozenset[str]) -> str | None:
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
        url.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise _refused("is not a valid URL") from None
    if url.scheme not in ("http", "https") or not host or url.username or url.password:
        raise _refused("must be an http or https URL with a host and no credentials")
    if host not in allowed_hosts:
        raise _refused(f"goes to {host}, which is not in WEBHOOK_ALLOWED_HOSTS")
    return value
