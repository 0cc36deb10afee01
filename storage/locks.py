"""Advisory-lock keys shared by the statements that must serialise on one task."""

from __future__ import annotations

from uuid import UUID


def task_lock_key(task_id: UUID) -> int:
    """The advisory-lock key of a task: its first 64 bits, signed as PostgreSQL's bigint.

    Two tasks sharing a key (one chance in 2**64) only wait for each other's deletes. The
    SQL function ``task_lock_key(uuid)`` (migration 0003) computes the same key.
    """
    return int.from_bytes(task_id.bytes[:8], "big", signed=True)
