"""API keys and who a request's credentials sign in as.

A key is ``ft_<key id>_<secret>``: a 64-bit key id (hex), by which it is looked up, and a 256-bit
secret (hex). Only ``HMAC-SHA256(hmac key, whole key)`` is stored: a random 256-bit secret needs no slow
password hash, and the HMAC key (``API_KEY_SECRET``, else the random one migration 0005 stored) means a
copy of the database alone cannot even confirm a key. Every check does the same work — one lookup by
key id, one HMAC, the same comparisons in constant time — whether the user is unknown, the key id is
unknown or malformed, or the secret is wrong, so the response time tells nothing of which.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from storage.principals import find_key, touch_key

KEY_PATTERN = re.compile(rb"ft_([0-9a-f]{16})_[0-9a-f]{64}")


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a user, and the key it came with (None: the bootstrap pair, or an open API)."""

    user_id: int
    name: str
    role: str
    key_id: str | None = None
    # False on an open API (no pair, nobody who could sign in): nobody is told who owns what.
    signed_in: bool = True

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def new_key() -> tuple[str, str]:
    """A fresh (key id, key)."""
    key_id = secrets.token_hex(8)
    return key_id, f"ft_{key_id}_{secrets.token_hex(32)}"


class Credentials:
    """Checks a (user name, password or key) against the bootstrap pair and the stored keys."""

    def __init__(self, hmac_key: bytes, pair: tuple[str, str] | None, bootstrap: Principal) -> None:
        self._hmac_key = hmac_key
        self.pair_set = pair is not None
        # Without a pair, a random value nothing can match keeps the comparison (and its cost) in place.
        self._pair = f"{pair[0]}:{pair[1]}".encode() if pair else secrets.token_bytes(32)
        self._no_hash = secrets.token_bytes(32)
        self.bootstrap = bootstrap

    def hash(self, key: str | bytes) -> bytes:
        data = key.encode() if isinstance(key, str) else key
        return hmac.new(self._hmac_key, data, hashlib.sha256).digest()

    def verify(self, name: bytes | None, secret: bytes) -> Principal | None:
        """The principal these credentials sign in as, or None. ``name`` is None for a Bearer key."""
        match = KEY_PATTERN.fullmatch(secret)
        # A malformed key is looked up too (under an id no key has): the same work as an unknown id.
        found = find_key(match[1].decode() if match else "-")
        digest = self.hash(secret)
        key_ok = hmac.compare_digest(digest, found.secret_hash if found else self._no_hash)
        owner_name = (found.user_name if found else "").encode()
        name_ok = name is None or hmac.compare_digest(name, owner_name)
        # Compared even without a pair (against a random value): the same work either way.
        pair_ok = hmac.compare_digest((name or b"") + b":" + secret, self._pair) and self.pair_set and name is not None
        if pair_ok:
            return self.bootstrap
        if found is None or not (key_ok and name_ok):
            return None
        touch_key(found.key_id)
        return Principal(found.user_id, found.user_name, found.role, found.key_id)
