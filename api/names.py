"""Names given by clients, for tasks and images: optional, 1 to 255 characters."""

from __future__ import annotations

import falcon

MAX_NAME_LENGTH = 255


def name_problem(value: object) -> str | None:
    """What makes ``value`` unusable as a name ("must …"), or None when it is a good one."""
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty string"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate ("\ud800" in JSON): not text PostgreSQL can store
        return "must be valid Unicode text (it holds a lone surrogate)"
    if "\x00" in value:  # PostgreSQL text cannot hold it
        return "must not contain a NUL character"
    if len(value) > MAX_NAME_LENGTH:
        return f"must be at most {MAX_NAME_LENGTH} characters"
    return None


def checked_name(value: object, source: str) -> str | None:
    """``value`` if it is a usable name, None if absent; 400 naming ``source`` otherwise."""
    if value is None:
        return None
    problem = name_problem(value)
    if problem:
        raise falcon.HTTPBadRequest(title="Invalid name", description=f"{source} {problem}.")
    return value
