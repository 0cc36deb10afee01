"""Users and their API keys as stored: who may sign in, with what role, and each key's hash.

The bootstrap admin is the one ``users`` row with ``bootstrap`` set, made by migration 0005: it stands
for the ``API_USERNAME``/``API_PASSWORD`` pair (which lives in the environment only, never here), owns
the tasks that existed before users did and those created while the API is open, and takes the name
``API_USERNAME`` when an API process starts with a pair. Keys may be made for it like for any admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from peewee import IntegrityError, fn

from storage.db import db
from storage.errors import StorageError
from storage.models import ApiKey, Task, User

# A key's last use is written at most this often: one write a minute, not one per request.
LAST_USED_RESOLUTION_S = 60


class UserNotFound(StorageError):
    """No user of that name (or it was deleted)."""


class KeyNotFound(StorageError):
    """No key of that id (or not one the caller may see)."""


class NameTaken(StorageError):
    """A user of that name exists."""


class BootstrapUser(StorageError):
    """The bootstrap admin cannot be deleted: it is the API_USERNAME/API_PASSWORD pair."""


@dataclass(frozen=True)
class KeyOwner:
    """What a key lookup finds: the key's hash and the user it signs in as."""

    key_id: str
    secret_hash: bytes
    user_id: int
    user_name: str
    role: str


def _live() -> object:
    return User.deleted_at.is_null()


def bootstrap_user(name: str | None) -> User:
    """The bootstrap admin, renamed to ``name`` first when one is given.

    Raises NameTaken when another user already has that name.
    """
    if name is not None:
        try:
            with db.atomic():
                User.update(name=name).where(User.bootstrap & (User.name != name)).execute()
        except IntegrityError:
            raise NameTaken(name) from None
    return User.get(User.bootstrap)


_SIGN_IN_POSSIBLE_SQL = """
SELECT EXISTS (SELECT 1 FROM users WHERE NOT bootstrap) OR EXISTS (SELECT 1 FROM api_keys)
"""


def signs_in_required() -> bool:
    """Whether the API is closed to anonymous requests: a user besides the bootstrap admin or a key was ever
    made. Deleted users and revoked keys count, so removing the last of them never opens the API again."""
    return bool(db.execute_sql(_SIGN_IN_POSSIBLE_SQL).fetchone()[0])


def find_key(key_id: str) -> KeyOwner | None:
    """The key ``key_id`` and its (live) user; None when there is none. One indexed read."""
    row = (
        ApiKey.select(ApiKey.id, ApiKey.secret_hash, User.id, User.name, User.role)
        .join(User)
        .where((ApiKey.id == key_id) & ApiKey.revoked_at.is_null() & _live())
        .tuples()
        .first()
    )
    return None if row is None else KeyOwner(row[0], bytes(row[1]), row[2], row[3], row[4])


def touch_key(key_id: str) -> None:
    """Record that the key was used now (unless that was recorded less than a minute ago)."""
    recent = fn.now() - fn.make_interval(0, 0, 0, 0, 0, 0, LAST_USED_RESOLUTION_S)
    ApiKey.update(last_used_at=fn.now()).where(
        (ApiKey.id == key_id) & (ApiKey.last_used_at.is_null() | (ApiKey.last_used_at < recent))
    ).execute()


def hash_secret() -> bytes:
    """The HMAC key migration 0005 made, for when API_KEY_SECRET is not set."""
    return bytes(db.execute_sql("SELECT hmac_key FROM key_hash_secret").fetchone()[0])


def create_user(name: str, role: str) -> User:
    try:
        with db.atomic():
            return User.insert(name=name, role=role, created_at=fn.now()).returning(User).execute()[0]
    except IntegrityError:
        raise NameTaken(name) from None


def live_users() -> list[User]:
    return list(User.select().where(_live()).order_by(User.created_at, User.id))


def find_user(name: str) -> User:
    user = User.get_or_none((User.name == name) & _live())
    if user is None:
        raise UserNotFound(name)
    return user


def delete_user(name: str) -> None:
    """Delete the user and revoke their keys, in one transaction; their tasks stay (admins see them)."""
    with db.atomic():
        user = find_user(name)
        if user.bootstrap:
            raise BootstrapUser(name)
        ApiKey.update(revoked_at=fn.now()).where((ApiKey.user == user.id) & ApiKey.revoked_at.is_null()).execute()
        User.update(deleted_at=fn.now()).where(User.id == user.id).execute()


def create_key(user: User, key_id: str, name: str, secret_hash: bytes) -> ApiKey:
    return (
        ApiKey.insert(id=key_id, user=user.id, name=name, secret_hash=secret_hash, created_at=fn.now())
        .returning(ApiKey)
        .execute()[0]
    )


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    name: str
    user_name: str
    created_at: datetime
    last_used_at: datetime | None


def list_keys(user_id: int | None) -> list[KeyInfo]:
    """Every key not revoked (``user_id`` None), or that user's, oldest first; never a hash."""
    query = (
        ApiKey.select(ApiKey.id, ApiKey.name, User.name, ApiKey.created_at, ApiKey.last_used_at)
        .join(User)
        .where(ApiKey.revoked_at.is_null())
    )
    if user_id is not None:
        query = query.where(ApiKey.user == user_id)
    return [KeyInfo(*row) for row in query.order_by(ApiKey.created_at, ApiKey.id).tuples()]


def revoke_key(key_id: str, user_id: int | None) -> None:
    """Revoke the key (only if it is ``user_id``'s, unless None); KeyNotFound when there is no such live key."""
    condition = (ApiKey.id == key_id) & ApiKey.revoked_at.is_null()
    if user_id is not None:
        condition &= ApiKey.user == user_id
    if not list(ApiKey.update(revoked_at=fn.now()).where(condition).returning(ApiKey.id).execute()):
        raise KeyNotFound(key_id)


def task_owner(task_id: object) -> int | None:
    """The owner's user id of a task the API shows; None when there is no such task."""
    row = Task.select(Task.owner).where((Task.id == task_id) & ~Task.cancelled).tuples().first()
    return None if row is None else row[0]
