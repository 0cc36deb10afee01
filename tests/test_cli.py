"""``facetasks``, the console script installed with the package, run against the running service."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import service_env
from tests.service_process import ServiceProcess, serving
from tests.testbed import client_env
from tools.emulator_faces import face, make_jpeg

FACETASKS = Path(sys.executable).with_name("facetasks")


@pytest.fixture(scope="module")
def service(database, vhost, storage_dir, emulator, tmp_path_factory) -> Iterator[ServiceProcess]:
    env = service_env(storage_dir, emulator, WORKER_PROCESSES="1", WORKER_THREADS="4")
    with serving(env, tmp_path_factory.mktemp("cli")) as running:
        yield running


def run(service: ServiceProcess, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed console script with its output piped, as in a script or CI."""
    return subprocess.run([str(FACETASKS), "--url", service.url, *args], capture_output=True, text=True,
                          env=client_env(), timeout=120, check=False)


def photos(root: Path) -> Path:
    (root / "day 1").mkdir(parents=True)
    (root / ".thumbnails").mkdir()
    (root / "day 1" / "team.jpg").write_bytes(
        make_jpeg(faces=[face(5, 6, 20, 20, "female", 28.4), face(30, 6, 20, 20, "male", 41)]))
    (root / "day 1" / "hall.JPEG").write_bytes(make_jpeg(faces=[], color=(1, 2, 3)))
    (root / "door.jpg").write_bytes(make_jpeg(faces=[face(1, 1, 9, 9, "male", 33.5)], color=(9, 9, 9)))
    (root / ".thumbnails" / "team.jpg").write_bytes(make_jpeg(faces=[]))
    (root / "notes.txt").write_text("not a photo")
    return root


def task_id_of(result: subprocess.CompletedProcess[str]) -> str:
    match = re.search(r"^task ([0-9a-f-]{36})$", result.stderr, re.MULTILINE)
    assert match, result.stderr
    return match.group(1)


def test_a_folder_becomes_statistics_and_a_csv_equal_to_the_task_json(service, fresh_emulator, tmp_path):
    folder = photos(tmp_path / "photos")
    sheet = tmp_path / "faces.csv"

    result = run(service, "analyze", str(folder), "--name", "event", "--wait", "--csv", str(sheet))

    assert result.returncode == 0, result.stderr
    task = service.task(task_id_of(result)).json()
    assert task["status"] == "completed" and task["name"] == "event"
    assert [i["name"] for i in task["images"]] == ["day 1/hall.JPEG", "day 1/team.jpg", "door.jpg"]
    assert re.search(r"^faces\s+3$", result.stdout, re.MULTILINE)
    assert re.search(r"^mean age of men\s+37\.2$", result.stdout, re.MULTILINE)  # (41 + 33.5) / 2 = 37.25
    assert re.search(r"^mean age of women\s+28\.4$", result.stdout, re.MULTILINE)
    rows = list(csv.reader(io.StringIO(sheet.read_text(encoding="utf-8-sig"), newline="")))
    expected = []
    for image in task["images"]:
        for f in image["faces"] or [None]:
            expected.append((image["id"], image["name"], f and f["gender"], f and repr(f["age"])))
    assert [(r[0], r[1], r[8] or None, r[9] or None) for r in rows[1:]] == expected
    # Piped, as here: no progress bars, no carriage returns.
    assert "\r" not in result.stderr and "%|" not in result.stderr


def test_a_failed_task_exits_1_and_an_unknown_one_2_with_the_apis_description(service, fresh_emulator, tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "scan.jpg").write_bytes(make_jpeg(error="bad image: unsupported scan"))

    failed = run(service, "analyze", str(folder), "--wait")
    unknown = run(service, "status", "6f1c2b0e-0000-4000-8000-000000000000")
    (tmp_path / "nothing-here").mkdir()
    empty = run(service, "analyze", str(tmp_path / "nothing-here"))

    assert failed.returncode == 1 and re.search(r"^status\s+failed$", failed.stdout, re.MULTILINE)
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == "facetasks: There is no task 6f1c2b0e-0000-4000-8000-000000000000."
    assert empty.returncode == 2 and "no JPEG" in empty.stderr


def test_status_wait_export_list_retry_and_delete_work_on_a_task(service, fresh_emulator, tmp_path):
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(make_jpeg(faces=[face(1, 2, 3, 4, "unknown", 50)], color=(5, 5, 5)))
    task_id = run(service, "analyze", str(folder)).stdout.strip()

    waited = run(service, "wait", task_id)
    image = service.task(task_id).json()["images"][0]
    exported = run(service, "export", task_id, "--csv", "-")
    listed = run(service, "list", "--status", "completed")
    retried = run(service, "retry", task_id)
    deleted = run(service, "delete", task_id)

    assert waited.returncode == 0 and re.search(r"^status\s+completed$", waited.stdout, re.MULTILINE)
    lines = exported.stdout.lstrip("\ufeff").splitlines()
    assert exported.returncode == 0 and lines[1] == f"{image['id']},a.jpg,done,,1,2,3,4,unknown,50.0,0.99"
    assert len(lines) == 2
    assert task_id in listed.stdout
    assert retried.returncode == 2 and "only while it is failed" in retried.stderr
    assert deleted.returncode == 0 and service.task(task_id).status_code == 404
