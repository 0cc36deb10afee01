"""Who each ``/api/v1`` request acts as (``req.context.principal``), from its Authorization header.

``Basic`` with the bootstrap pair or with a user's name and one of their keys as the password;
``Bearer`` with a key. Keys are read from the database on every request (no cache), so a revoked key
or a deleted user is refused on the next request by every API process. With no pair configured and
no user ever made but the bootstrap admin and no key, the API is open as it always was:
every request acts as the bootstrap admin, and a header, if any, is not looked at.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import replace

import falcon

from api.keys import Credentials, Principal
from api.ratelimit import FailureLimit
from storage.principals import signs_in_required

PROTECTED_PREFIX = "/api/v1"
# Basic only: browsers and curl answer it; a Bearer key is accepted all the same.
CHALLENGES = ['Basic realm="facetasks", charset="UTF-8"']
# The web page sends this header on its own requests: it shows a sign-in form of its own, so a
# challenge would only make the browser put its Basic prompt over it (and cache what is typed there).
SCRIPT_HEADER = ("X-Requested-With", "XMLHttpRequest")


def protected(path: str) -> bool:
    return path == PROTECTED_PREFIX or path.startswith(PROTECTED_PREFIX + "/")


def from_script(req: falcon.Request) -> bool:
    return (req.get_header(SCRIPT_HEADER[0]) or "").strip().lower() == SCRIPT_HEADER[1].lower()


def unauthorized(challenge: bool = True) -> falcon.HTTPUnauthorized:
    # One answer whatever was wrong (no header, unknown user, unknown or revoked key, wrong secret).
    return falcon.HTTPUnauthorized(
        title="Authentication required",
        description="Send valid HTTP Basic credentials (Authorization: Basic …).",
        challenges=CHALLENGES if challenge else None,
    )


def parse_authorization(header: str) -> tuple[bytes | None, bytes] | None:
    """(user name or None, password or key) of a Basic or Bearer header; None if it is neither."""
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return None, value.encode("utf-8", errors="replace")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    name, colon, password = decoded.partition(b":")
    return (name, password) if colon else None


class Authentication:
    def __init__(self, credentials: Credentials, failures: FailureLimit | None) -> None:
        self.credentials = credentials
        self.failures = failures
        self.anonymous = replace(credentials.bootstrap, signed_in=False)

    def open(self) -> bool:
        return not self.credentials.pair_set and not signs_in_required()

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if not protected(req.path):
            return
        if self.open():
            req.context.principal = self.anonymous
            return
        address = req.remote_addr or "-"
        wait = self.failures.retry_after(address) if self.failures else None
        if wait is not None:
            raise falcon.HTTPTooManyRequests(
                title="Too many failed authentications",
                description=f"Too many failed authentications from this address; try again in {wait} s.",
                retry_after=wait,
            )
        header = req.get_header("Authorization")
        parsed = parse_authorization(header) if header else None
        principal = self.credentials.verify(*parsed) if parsed else None
        if principal is None:
            if header and self.failures:  # a request without credentials guesses nothing
                self.failures.failed(address)
            raise unauthorized(challenge=not from_script(req))
        req.context.principal = principal


def principal_of(req: falcon.Request) -> Principal:
    return req.context.principal


def require_admin(req: falcon.Request) -> Principal:
    principal = principal_of(req)
    if not principal.is_admin:
        raise falcon.HTTPForbidden(title="Admins only", description="Only an admin may do this.")
    return principal
