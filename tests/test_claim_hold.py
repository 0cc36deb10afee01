"""An image's claim holds its task in the same round trip (``storage.image_states.claim_image``), against
a delete made on another connection as the API makes it: the exclusive lock, then the flag."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import psycopg2
import pytest

from storage import image_states
from storage.db import db
from storage.dispatch import queue_up
from storage.locks import task_lock_key
from storage.tasks import start_task
from tests.conftest import DATABASE_URL
from tests.harness import wait_until
from tests.helpers import create_task, upload
from tools.emulator_faces import make_jpeg


@pytest.fixture
def other() -> Iterator[psycopg2.extensions.connection]:
    """A connection of its own, as the API's delete has."""
    connection = psycopg2.connect(DATABASE_URL)
    yield connection
    connection.close()


def queued_image(client) -> tuple[uuid.UUID, uuid.UUID]:
    task = create_task(client, "holds")
    upload(client, task["id"], make_jpeg(faces=[]), "a.jpg")
    task_id = uuid.UUID(task["id"])
    start_task(task_id)
    (image_id,) = queue_up(task_id, window=1)
    return task_id, image_id


def can_lock_exclusively(connection, task_id: uuid.UUID) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", (task_lock_key(task_id),))
        taken = cursor.fetchone()[0]
        if taken:
            cursor.execute("SELECT pg_advisory_unlock(%s)", (task_lock_key(task_id),))
    connection.commit()
    return taken


def test_a_claim_holds_its_task_until_the_gate_is_released(client, other):
    task_id, image_id = queued_image(client)

    claim = image_states.claim_image(image_id, "msg-1", hold=True)

    assert claim is not None and claim.alive is True
    assert not can_lock_exclusively(other, task_id)
    claim.gate.release()
    assert can_lock_exclusively(other, task_id)


def test_a_claim_that_waited_for_a_delete_sees_it_and_holds_nothing(client, other):
    task_id, image_id = queued_image(client)
    with other.cursor() as cursor:  # a delete under way: the lock taken, the flag set, not committed
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (task_lock_key(task_id),))
        cursor.execute("UPDATE tasks SET cancelled = true WHERE id = %s", (str(task_id),))
    claims: list[image_states.Claim | None] = []

    def claim() -> None:
        with db.connection_context():
            claims.append(image_states.claim_image(image_id, "msg-1", hold=True))

    worker = threading.Thread(target=claim)
    worker.start()
    with psycopg2.connect(DATABASE_URL) as watcher, watcher.cursor() as cursor:
        def waiting() -> bool:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            return cursor.fetchone()[0] == 1
        wait_until(waiting, 10, "the claim waiting for the delete's lock")
    watcher.close()
    other.commit()
    worker.join(10)

    assert len(claims) == 1 and claims[0] is not None
    assert claims[0].alive is False
    assert can_lock_exclusively(other, task_id)


def test_a_claim_after_a_delete_takes_nothing(client, other):
    task_id, image_id = queued_image(client)
    with other.cursor() as cursor:
        cursor.execute("UPDATE tasks SET cancelled = true WHERE id = %s", (str(task_id),))
    other.commit()

    assert image_states.claim_image(image_id, "msg-1", hold=True) is None
    assert can_lock_exclusively(other, task_id)
