"""HTTP Basic auth on every ``/api/v1`` route when credentials are configured."""

from __future__ import annotations

import base64
import binascii
import hmac

import falcon

PROTECTED_PREFIX = "/api/v1"


class BasicAuth:
    def __init__(self, username: str, password: str) -> None:
        self._expected = f"{username}:{password}".encode()

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if not (req.path == PROTECTED_PREFIX or req.path.startswith(PROTECTED_PREFIX + "/")):
            return
        if not self._valid(req.get_header("Authorization") or ""):
            raise falcon.HTTPUnauthorized(
                title="Authentication required",
                description="Send valid HTTP Basic credentials (Authorization: Basic …).",
                challenges=['Basic realm="facetasks", charset="UTF-8"'],
            )

    def _valid(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        # Constant time, so the response time does not leak how much of a guess was right.
        return hmac.compare_digest(given, self._expected)
