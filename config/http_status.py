"""Which HTTP answers mean "try again later", for every client the service runs: the FaceCloud
detector and the webhook sender must agree, so that an operator learns one rule."""

from __future__ import annotations

# 408 Request Timeout and 429 Too Many Requests: the server asks for the same request later.
_TRANSIENT_CLIENT_ERRORS = (408, 429)


def transient(status: int) -> bool:
    """True for 408, 429 and every 5xx: the same request may well succeed later; another 4xx will not."""
    return status in _TRANSIENT_CLIENT_ERRORS or status >= 500
