"""Archive uploads: ZIP and TAR (gzip too) bodies of JPEGs, built here, on real PostgreSQL and files."""

from __future__ import annotations

import io
import tarfile
import uuid
import zipfile
from pathlib import Path

import pytest

from api.archives import MAX_MEMBERS
from detectors.emulator_faces import make_jpeg
from tests.conftest import MAX_IMAGE_BYTES, build_client
from tests.helpers import create_task

JPEGS = {f"event/{i:02}.jpg": make_jpeg(faces=[], color=(i, 40, 80)) for i in range(3)}


def zip_of(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            if name.endswith("/"):
                archive.writestr(zipfile.ZipInfo(name), b"")
            else:
                archive.writestr(name, data)
    return buffer.getvalue()


def tar_of(members: dict[str, bytes], mode: str = "w:gz", links: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name in links:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            archive.addfile(info)
    return buffer.getvalue()


def post(client, task_id: str, body: bytes, content_type: str):
    return client.simulate_post(f"/api/v1/tasks/{task_id}/images", body=body, headers={"Content-Type": content_type})


def images_of(client, task_id: str) -> list[dict]:
    return client.simulate_get(f"/api/v1/tasks/{task_id}").json["images"]


def leftovers(storage_dir: Path, task_id: str) -> list[Path]:
    """Files of the task, and temporary upload files or folders, left on disk."""
    incoming = storage_dir / ".incoming"
    return [*(storage_dir / task_id).glob("*"), *(incoming.iterdir() if incoming.exists() else ())]


def test_every_jpeg_of_a_zip_becomes_an_image_named_by_its_path_and_the_rest_is_reported(client):
    task = create_task(client)
    members = {"event/": b"", **JPEGS, "notes.txt": b"not a photo", "__MACOSX/event/._00.jpg": b"\0\5\26\7",
               ".DS_Store": b"\0\0\0\1Bud1", "scan.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 32}

    result = post(client, task["id"], zip_of(members), "application/zip")

    assert result.status_code == 201
    items = result.json["items"]
    assert [i["name"] for i in items] == list(JPEGS)
    assert all(i["status"] == "pending" and i["faces"] == [] and i["error"] is None for i in items)
    assert [(r["name"], r["title"]) for r in result.json["rejected"]] == [
        ("event/", "Not a file"), ("notes.txt", "Not a JPEG"), ("__MACOSX/event/._00.jpg", "Hidden file"),
        (".DS_Store", "Hidden file"), ("scan.png", "Not a JPEG"),
    ]
    assert all(r["description"] for r in result.json["rejected"])
    assert images_of(client, task["id"]) == items
    for item, data in zip(items, JPEGS.values(), strict=True):
        stored = client.simulate_get(f"/api/v1/tasks/{task['id']}/images/{item['id']}/file")
        assert stored.content == data


def test_a_gzipped_tar_is_read_like_a_zip_and_links_are_not_followed(client):
    task = create_task(client)

    result = post(client, task["id"], tar_of(JPEGS, links=("event/passwd.jpg",)), "application/gzip")

    assert result.status_code == 201
    assert [i["name"] for i in result.json["items"]] == list(JPEGS)
    assert [(r["name"], r["title"]) for r in result.json["rejected"]] == [("event/passwd.jpg", "Not a file")]


def test_a_thousand_photo_zip_is_one_request_in_archive_order(client):
    task = create_task(client)
    members = {f"{i:04}.jpg": make_jpeg(8, 8, faces=[], color=(i % 256, i // 256, 3)) for i in range(1000)}

    result = post(client, task["id"], zip_of(members, zipfile.ZIP_STORED), "application/zip")

    assert result.status_code == 201 and result.json["rejected"] == []
    page = client.simulate_get(f"/api/v1/tasks/{task['id']}/images", params={"page": 10, "page_size": 100}).json
    assert page["total"] == 1000 and [i["name"] for i in page["items"]] == [f"{i:04}.jpg" for i in range(900, 1000)]


def test_a_member_larger_than_an_image_may_be_is_rejected_and_the_others_kept(client):
    task = create_task(client)
    big = make_jpeg(8, 8, faces=[]) + b"\0" * MAX_IMAGE_BYTES

    result = post(client, task["id"], zip_of({**JPEGS, "huge.jpg": big}), "application/zip")

    assert result.status_code == 201 and len(result.json["items"]) == 3
    description = f"An image may be at most {MAX_IMAGE_BYTES} bytes."
    assert result.json["rejected"] == [{"name": "huge.jpg", "title": "Image too large", "description": description}]


@pytest.mark.parametrize(("body", "content_type"), [
    (zip_of(JPEGS)[:-200], "application/zip"),
    (zip_of(JPEGS)[: len(zip_of(JPEGS)) // 2], "application/zip"),
    (tar_of(JPEGS)[:-40], "application/gzip"),
    (tar_of(JPEGS, mode="w")[:1500], "application/x-tar"),
])
def test_a_damaged_archive_is_a_422_and_keeps_nothing(client, storage_dir, body, content_type):
    task = create_task(client)

    result = post(client, task["id"], body, content_type)

    assert result.status_code == 422 and result.json["title"] == "Damaged archive"
    assert "none of its images was added" in result.json["description"]
    assert images_of(client, task["id"]) == []
    assert leftovers(storage_dir, task["id"]) == []


def test_a_zip_bomb_is_refused_and_nothing_is_added(client, storage_dir):
    task = create_task(client)
    bomb = zip_of({**JPEGS, "zeros.jpg": b"\xff\xd8\xff" + b"\0" * (20 * 1024 * 1024)})
    assert len(bomb) < 100_000

    result = post(client, task["id"], bomb, "application/zip")

    assert result.status_code == 422 and result.json["title"] == "Zip bomb"
    assert images_of(client, task["id"]) == [] and leftovers(storage_dir, task["id"]) == []


@pytest.fixture
def small_archives(clean_db, storage_dir, pipeline):
    """The API with archives limited to 1 MiB."""
    return build_client(storage_dir, pipeline, max_archive_bytes=1024 * 1024)


def test_an_archive_that_unpacks_past_the_limit_is_a_413(small_archives, storage_dir):
    task = create_task(small_archives)
    gzipped = tar_of({**JPEGS, "padding.jpg": b"\0" * (2 * 1024 * 1024)})
    assert len(gzipped) < 1024 * 1024

    result = post(small_archives, task["id"], gzipped, "application/gzip")

    assert result.status_code == 413 and result.json["title"] == "Archive too large"
    assert "unpack to at most 1048576 bytes" in result.json["description"]
    assert images_of(small_archives, task["id"]) == [] and leftovers(storage_dir, task["id"]) == []


def test_an_archive_past_the_limit_is_a_413_before_anything_is_read(small_archives):
    task = create_task(small_archives)
    body = zip_of({f"{i}.jpg": make_jpeg(faces=[], color=(i, 0, 0)) + bytes(range(256)) * 600 for i in range(8)},
                  zipfile.ZIP_STORED)
    assert len(body) > 1024 * 1024

    result = post(small_archives, task["id"], body, "application/zip")

    assert result.status_code == 413 and result.json["description"] == "An archive may be at most 1048576 bytes."


def test_too_many_members_are_a_413(client):
    task = create_task(client)
    members = {f"{i}.txt": b"" for i in range(MAX_MEMBERS + 1)}

    result = post(client, task["id"], zip_of(members, zipfile.ZIP_STORED), "application/zip")

    assert result.status_code == 413 and str(MAX_MEMBERS) in result.json["description"]
    assert images_of(client, task["id"]) == []


def test_an_archive_for_a_started_task_is_a_409_and_for_no_task_a_404(client):
    task = create_task(client)
    post(client, task["id"], zip_of(JPEGS), "application/zip")
    client.simulate_post(f"/api/v1/tasks/{task['id']}/start")

    late = post(client, task["id"], zip_of(JPEGS), "application/zip")
    nowhere = post(client, str(uuid.uuid4()), zip_of(JPEGS), "application/zip")

    assert late.status_code == 409 and len(images_of(client, task["id"])) == 3
    assert nowhere.status_code == 404
