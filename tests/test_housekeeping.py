"""Each housekeeping sweep, called directly on real rows, files and a real broker: what it picks, what it leaves."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from actors.messages import AGGREGATE_QUEUE, DETECT_QUEUE, WEBHOOK_QUEUE
from config.settings import Settings
from service.housekeeper import Housekeeper
from storage import housekeeping as sweeps
from storage import image_states
from storage.db import db
from storage.dispatch import queue_up
from storage.files import FileStore
from storage.models import Image, Task
from storage.tasks import cancel_task, start_task
from tests.conftest import messages_in_queues
from tests.helpers import create_task, upload
from tools.emulator_faces import make_jpeg


def running_task(client, images: int, window: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """A started task with ``window`` of its images queued (unsent), as the dispatcher leaves them."""
    task = create_task(client)
    for i in range(images):
        upload(client, task["id"], make_jpeg(faces=[], color=(i, 1, 2)), f"{i}.jpg")
    task_id = uuid.UUID(task["id"])
    with db.connection_context():
        start_task(task_id)
        return task_id, queue_up(task_id, window)


def age(model, ids, seconds: float, column: str = "updated_at") -> None:
    """Move ``column`` of the rows ``seconds`` into the past."""
    with db.connection_context():
        db.execute_sql(
            f"UPDATE {model._meta.table_name} SET {column} = now() - make_interval(secs => %s)"
            " WHERE id = ANY(%s::uuid[])",
            (seconds, [str(i) for i in ids]),
        )


def test_stale_claims_go_back_to_the_queue_unsent_and_fresh_ones_stay(client):
    task_id, (stale, fresh) = running_task(client, 2, 2)
    with db.connection_context():
        for image_id in (stale, fresh):
            assert image_states.claim_image(image_id, f"m-{image_id}") is not None
        version = Task.get_by_id(task_id).version
    age(Image, [stale], 120)

    with db.connection_context():
        released = sweeps.release_stale_claims(60)
        rows = {i.id: i for i in Image.select().where(Image.task == task_id)}
        task = Task.get_by_id(task_id)

    assert released == 1
    assert (rows[stale].status, rows[stale].claimed_by, rows[stale].sent_at, rows[stale].attempts) == (
        "queued", None, None, 1)  # the attempt stays counted
    assert rows[fresh].status == "processing"
    assert task.version > version  # the task's ETag moves with it


def test_unsent_and_lost_messages_are_found_however_busy_the_queue(client):
    _task_id, (unsent, recent, sent, lost) = running_task(client, 4, 4)
    with db.connection_context():
        db.execute_sql("UPDATE images SET sent_at = now() WHERE id = ANY(%s::uuid[])", ([str(sent), str(lost)],))
    age(Image, [unsent], 120)
    age(Image, [lost], 4000, "sent_at")

    with db.connection_context():
        found = sweeps.unsent_images(unsent_s=60, lost_s=3600, limit=10)

    assert set(found) == {unsent, lost}
    assert recent not in found and sent not in found


def test_stalled_and_unfinished_runs_are_told_apart(client):
    stalled, _ = running_task(client, 3, 1)
    _moving, _ = running_task(client, 3, 1)
    finished, _ = running_task(client, 1, 1)
    with db.connection_context():
        Task.update(remaining=0).where(Task.id == finished).execute()
    age(Task, [stalled, finished], 120)

    with db.connection_context():
        assert sweeps.stalled_runs(60) == [stalled]
        assert sweeps.unfinished_runs(60) == [finished]


def test_a_sweep_sends_what_is_missing_finishes_purges_cleans_and_records_itself(client, publisher, storage_dir):
    settings = Settings(unsent_after_s=60, stale_claim_s=600, task_window=2)
    keeper = Housekeeper(publisher, FileStore(storage_dir), settings)
    for queue in (DETECT_QUEUE, AGGREGATE_QUEUE, WEBHOOK_QUEUE):
        publisher.broker.declare_queue(queue, ensure=True)
        publisher.broker.channel.queue_purge(queue)
    _unsent_task, unsent = running_task(client, 3, 2)
    age(Image, unsent, 120)
    stalled, _ = running_task(client, 2, 0)  # started, its dispatch message lost: nothing queued
    age(Task, [stalled], 120)
    doomed, _ = running_task(client, 1, 0)
    with db.connection_context():
        cancel_task(doomed)
    stray = storage_dir / str(uuid.uuid4())
    stray.mkdir()
    (stray / "old.jpg").write_bytes(b"x")
    incoming = storage_dir / ".incoming"
    incoming.mkdir(exist_ok=True)
    old_part, old_batch = incoming / "dead.part", incoming / "dead.batch"
    old_part.write_bytes(b"x")
    old_batch.mkdir()
    for path in (old_part, old_batch):
        os.utime(path, (time.time() - 7200, time.time() - 7200))
    before = time.time()

    with db.connection_context():
        keeper.sweep()
        queued_stalled = Image.select().where((Image.task == stalled) & (Image.status == "queued")).count()
        unsent_rows = list(Image.select().where(Image.id.in_(unsent)))
        doomed_left = Task.select().where(Task.id == doomed).exists()
        swept = sweeps.last_sweep()

    assert all(row.sent_at is not None for row in unsent_rows)  # published, and marked so
    assert queued_stalled == 2  # dispatched again, within its window
    assert publisher.broker.get_queue_message_counts(DETECT_QUEUE)[0] == 4
    assert not doomed_left and not (storage_dir / str(doomed)).exists()
    assert not stray.exists() and not old_part.exists() and not old_batch.exists()
    assert swept is not None and swept.timestamp() >= before - 1


@pytest.fixture(autouse=True)
def _clean_files(storage_dir: Path):
    yield
    incoming = storage_dir / ".incoming"
    for path in incoming.glob("dead.*") if incoming.exists() else ():
        path.unlink() if path.is_file() else path.rmdir()


def ended_with_callback(client, announced: bool) -> uuid.UUID:
    """A task whose run 1 completed two minutes ago with a callback, its webhook not attempted yet; its end
    handed to the broker (its first attempt merely queued), or lost before that."""
    task_id = uuid.UUID(create_task(client)["id"])
    with db.connection_context():
        Task.update(status="completed", run=1, callback_url="http://127.0.0.1:9/hook",
                    webhook_announced_run=1 if announced else None).where(Task.id == task_id).execute()
    age(Task, [task_id], 120, column="finished_at")
    return task_id


def test_housekeeping_announces_an_end_that_was_never_handed_over_once_and_a_queued_one_never(client, publisher,
                                                                                              storage_dir):
    keeper = Housekeeper(publisher, FileStore(storage_dir), Settings(unsent_after_s=60))
    publisher.broker.declare_queue(WEBHOOK_QUEUE, ensure=True)
    publisher.broker.channel.queue_purge(WEBHOOK_QUEUE)
    ended_with_callback(client, announced=True)
    lost = ended_with_callback(client, announced=False)

    with db.connection_context():
        keeper.sweep()
        keeper.sweep()
        announced_run = Task.get_by_id(lost).webhook_announced_run

    assert messages_in_queues(WEBHOOK_QUEUE) == 1 and announced_run == 1
