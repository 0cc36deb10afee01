"""Users, API keys and ``/me``: admins manage users and every key; a member manages their own keys."""

from __future__ import annotations

import re

import falcon

from api.authentication import principal_of, require_admin
from api.keys import Credentials, new_key
from api.names import checked_name
from api.params import json_object
from representations.accounts import issued_key_json, key_json, user_json
from storage.models import USER_ROLES
from storage.principals import (
    BootstrapUser,
    KeyInfo,
    KeyNotFound,
    NameTaken,
    UserNotFound,
    create_key,
    create_user,
    delete_user,
    find_user,
    list_keys,
    live_users,
    revoke_key,
)

# A user name goes into Basic auth (no colon) and into URLs (no slash, no space).
USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
USER_NAME_RULE = "1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"


def _bad(description: str) -> falcon.HTTPBadRequest:
    return falcon.HTTPBadRequest(title="Invalid body", description=description)


class Users:
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        require_admin(req)
        body = json_object(req, "A user's", '{"name": "alice", "role": "member"}')
        name, role = body.get("name"), body.get("role")
        if not isinstance(name, str) or not USER_NAME.fullmatch(name):
            raise _bad(f'"name" must be {USER_NAME_RULE}.')
        if role not in USER_ROLES:
            raise _bad(f'"role" must be one of {", ".join(USER_ROLES)}.')
        try:
            user = create_user(name, role)
        except NameTaken:
            raise falcon.HTTPConflict(
                title="Name taken",
                description=f"The name {name} is taken: by a user, a removed user or the bootstrap admin.",
            ) from None
        resp.status = falcon.HTTP_201
        resp.location = f"/api/v1/users/{name}"
        resp.media = user_json(user)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        require_admin(req)
        resp.media = {"items": [user_json(user) for user in live_users()]}


class UserItem:
    def on_delete(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        require_admin(req)
        try:
            delete_user(name)
        except UserNotFound:
            raise falcon.HTTPNotFound(title="User not found", description=f"There is no user {name}.") from None
        except BootstrapUser:
            raise falcon.HTTPConflict(
                title="Bootstrap admin",
                description="This is the bootstrap admin (API_USERNAME/API_PASSWORD): unset the pair instead.",
            ) from None
        resp.status = falcon.HTTP_204


class Keys:
    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        principal = principal_of(req)
        body = json_object(req, "A key's", '{"name": "laptop", "user": "alice"}')
        name = checked_name(body.get("name"), '"name"')
        if name is None:
            raise _bad('"name" is required: say what the key is for, e.g. "laptop".')
        user_name = body.get("user", principal.name)
        if not isinstance(user_name, str):
            raise _bad('"user" must be a user\'s name.')
        if user_name != principal.name and not principal.is_admin:
            raise falcon.HTTPForbidden(title="Not yours", description="A member may create keys for themself only.")
        try:
            user = find_user(user_name)
        except UserNotFound:
            raise _bad(f'"user": there is no user {user_name}.') from None
        key_id, key = new_key()
        stored = create_key(user, key_id, name, self.credentials.hash(key))
        resp.status = falcon.HTTP_201
        resp.location = f"/api/v1/keys/{key_id}"
        resp.media = issued_key_json(KeyInfo(key_id, name, user.name, stored.created_at, None), key)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        principal = principal_of(req)
        keys = list_keys(None if principal.is_admin else principal.user_id)
        resp.media = {"items": [key_json(key) for key in keys]}


class KeyItem:
    def on_delete(self, req: falcon.Request, resp: falcon.Response, key_id: str) -> None:
        principal = principal_of(req)
        try:
            # Someone else's key is "not found" to a member, as their tasks are.
            revoke_key(key_id, None if principal.is_admin else principal.user_id)
        except KeyNotFound:
            raise falcon.HTTPNotFound(title="Key not found", description=f"There is no key {key_id}.") from None
        resp.status = falcon.HTTP_204


class Me:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        principal = principal_of(req)
        resp.media = {"name": principal.name, "role": principal.role, "key_id": principal.key_id}
