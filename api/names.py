"""Names given by clients, for tasks and images: optional, 1 to 255 characters."""

from __future__ import annotations

import falcon

MAX_NAME_LENGTH = 255


def checked_name(value: object, source: str) -> str | None:
    """``value`` if it is a usable name, None if absent; 400 naming ``source`` otherwise."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise falcon.HTTPBadRequest(title="Invalid name", description=f"{source} must be a non-empty string.")
    if "\x00" in value:  # PostgreSQL text cannot hold it
        raise falcon.HTTPBadRequest(title="Invalid name", description=f"{source} must not contain a NUL character.")
    if len(value) > MAX_NAME_LENGTH:
        raise falcon.HTTPBadRequest(
            title="Invalid name", description=f"{source} must be at most {MAX_NAME_LENGTH} characters."
        )
    return value
