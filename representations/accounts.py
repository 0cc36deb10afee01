"""The JSON shapes of users and API keys (``/users``, ``/keys``, ``/me``), beside the tasks' in ``serialize``:
one place says how a stored row, its times included, reads in JSON."""

from __future__ import annotations

from typing import Any

from representations.serialize import timestamp
from storage.models import User
from storage.principals import KeyInfo


def user_json(user: User) -> dict[str, Any]:
    return {"name": user.name, "role": user.role, "created_at": timestamp(user.created_at)}


def key_json(key: KeyInfo) -> dict[str, Any]:
    return {
        "id": key.key_id,
        "name": key.name,
        "user": key.user_name,
        "created_at": timestamp(key.created_at),
        "last_used_at": timestamp(key.last_used_at),
    }


def issued_key_json(key: KeyInfo, secret: str) -> dict[str, Any]:
    """A key just created: the one answer that ever shows its secret; it has not been used yet."""
    return {"id": key.key_id, "name": key.name, "user": key.user_name, "key": secret,
            "created_at": timestamp(key.created_at)}
