"""A request id on every request (``X-Request-ID``, echoed back) and one log line per request.

With ``LOG_LEVEL=debug-raw`` the ``api.raw`` logger adds the JSON bodies, truncated; other
bodies (images) are described by size only, and headers (credentials) are never logged. The line names
the principal (``user=alice key=<key id>``, ``key=-`` for the bootstrap pair), never a secret.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

import falcon
import orjson

from config.logs import log_context

logger = logging.getLogger("api.requests")
raw_logger = logging.getLogger("api.raw")

_CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAX_RAW_CHARS = 2000


QUIET_PATHS = frozenset({"/health", "/metrics"})


class RequestLog:
    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        given = req.get_header("X-Request-ID") or ""
        request_id = given if _CLIENT_ID.match(given) else uuid.uuid4().hex
        req.context.request_id = request_id
        req.context.started = time.perf_counter()
        req.context.log_token = log_context.set(f"req={request_id}")
        resp.set_header("X-Request-ID", request_id)

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource: object, params: dict) -> None:
        if raw_logger.isEnabledFor(logging.DEBUG) and req.content_length:
            raw_logger.debug("request body: %s", _request_body(req))

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        elapsed_ms = (time.perf_counter() - req.context.started) * 1000
        # Health probes come every few seconds from every orchestrator: only a failing one is news.
        level = logging.DEBUG if req.path in QUIET_PATHS and resp.status_code < 400 else logging.INFO
        logger.log(level, "%s %s %s %.1f ms%s", req.method, req.relative_uri, resp.status_code, elapsed_ms,
                   _principal(req))
        if raw_logger.isEnabledFor(logging.DEBUG):
            raw_logger.debug("response body: %s", _response_body(resp))
        log_context.reset(req.context.log_token)


def _principal(req: falcon.Request) -> str:
    """Who the request acted as (user and key id; never a secret), when it was authenticated."""
    principal = getattr(req.context, "principal", None)
    if principal is None or not principal.signed_in:
        return ""
    return f" user={principal.name} key={principal.key_id or '-'}"


def _truncated(text: str) -> str:
    return text if len(text) <= MAX_RAW_CHARS else text[:MAX_RAW_CHARS] + "…"


def _request_body(req: falcon.Request) -> str:
    if (req.content_type or "").startswith(falcon.MEDIA_JSON):
        try:
            # Parsed once and cached by Falcon: the responder gets the same object.
            return _truncated(json.dumps(req.get_media(default_when_empty=None)))
        except falcon.HTTPError:
            return "<malformed JSON>"
    return f"<{req.content_length} bytes of {req.content_type or 'unknown type'}>"


def _response_body(resp: falcon.Response) -> str:
    if isinstance(resp.media, dict) and "key" in resp.media:  # a new API key, shown to its client only
        return _truncated(json.dumps({**resp.media, "key": "<secret>"}))
    if resp.media is not None:
        # orjson, as the response itself: an images page holds image JSON texts (orjson.Fragment).
        return _truncated(orjson.dumps(resp.media).decode())
    if resp.stream is not None:
        return f"<{resp.content_length} bytes of {resp.content_type}>"
    return "<empty>"
