"""Security headers on every response, errors and static files included.

The pages (``/`` and Swagger UI at ``/docs``) load only their own scripts and styles and set styles
through the DOM, so the policy needs no ``'unsafe-inline'``; Swagger UI draws icons from ``data:``
URLs. Nothing may frame the pages (clickjacking), and no page's address leaks to other sites.
"""

from __future__ import annotations

import falcon

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "img-src 'self' data: blob:",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class SecurityHeaders:
    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        resp.set_headers(HEADERS)
