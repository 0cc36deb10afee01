"""Deletes racing claims on real workers: no detector call begins after a DELETE answered 204.

A claim holds its task's lock (shared) until the detector call has begun; the DELETE takes it
exclusively before setting the flag (``storage.image_states.CallGate``). A call begins when the worker
has handed the image to the detector (to the network for FaceCloud, to the model for the local one, both
raced here): the worker notes that instant (debug log, the machine's
monotonic clock, before it lets a delete go on), and the test compares it with the instant each
204 arrived. The emulator's own clock is not used: on a busy machine it notes a call when one of its
threads gets round to reading it, milliseconds after the call began.
"""

from __future__ import annotations

import hashlib
import operator
import random
import re
import time
from collections.abc import Iterator

import pytest

from storage.db import db
from storage.models import Task
from tests.conftest import DETECTORS, ROOT, Workers, service_env
from tests.harness import Children, wait_until
from tests.helpers import create_task, upload
from tests.testbed import EmulatorProcess
from tools.emulator_faces import face, make_jpeg

RACES = 80
BEGAN = re.compile(r"image (\S+) of task (\S+): detector call began at monotonic (\d+\.\d+)")


@pytest.fixture(scope="module", params=DETECTORS)
def racing(request, database, vhost, storage_dir, emulator, tmp_path_factory) -> Iterator[
    tuple[EmulatorProcess | None, Workers]
]:
    """Workers with either detector; FaceCloud's is an emulator in a process of its own (its arrivals are timed
    apart from this one's work), the local model has none."""
    folder = tmp_path_factory.mktemp("races")
    children = Children(folder, cwd=ROOT)
    try:
        emu = EmulatorProcess(children).start() if request.param == "facecloud" else None
        env = service_env(storage_dir, emu or emulator, DETECTOR=request.param, LOG_LEVEL="debug")
        workers = Workers(env, folder / "workers.log", processes=2, threads=4).start()
        yield emu, workers
        workers.stop()
    finally:
        children.stop_all(grace_s=10)


def test_no_detector_call_begins_after_any_delete_answered_204(client, racing):
    rng = random.Random(7)
    answered: dict[str, float] = {}
    hashes: dict[str, list[str]] = {}
    for race in range(RACES):
        task = create_task(client)
        # The face's position makes every image's bytes unique (solid colours may encode alike).
        images = [make_jpeg(faces=[face(race, i, 9, 9, "male", 30.5)]) for i in range(3)]
        for i, data in enumerate(images):
            assert upload(client, task["id"], data, f"{i}.jpg").status_code == 201
        hashes[task["id"]] = [hashlib.sha256(data).hexdigest() for data in images]
    for task_id in hashes:
        assert client.simulate_post(f"/api/v1/tasks/{task_id}/start").status_code == 202
        time.sleep(rng.uniform(0, 0.03))  # lands the delete before, during or after the claims
        assert client.simulate_delete(f"/api/v1/tasks/{task_id}").status_code == 204
        answered[task_id] = time.monotonic()

    assert len({sha for shas in hashes.values() for sha in shas}) == 3 * RACES
    with db.connection_context():
        wait_until(lambda: Task.select().where(Task.id.in_(list(answered))).count(), 30,
                   "the cancelled tasks purged", poll_s=0.1, until=operator.not_)

    emu, workers = racing
    began = [(task_id, float(at)) for _, task_id, at in BEGAN.findall(workers.log.read_text())]
    late = [(task_id, round(at - answered[task_id], 4)) for task_id, at in began
            if task_id in answered and at > answered[task_id]]
    assert late == []
    if emu is not None:  # every call that began was noted: as many reached FaceCloud
        ours = {sha for shas in hashes.values() for sha in shas}
        arrived = [sha for sha, _ in emu.arrivals() if sha in ours]
        assert len(arrived) == len([t for t, _ in began if t in answered])
    assert began, "no claim came before a delete: the races did not race"
