"""A catalogue of bad requests: each answers its exact status and JSON error, never a 500, and leaves
nothing half-written; the odd-but-valid JPEGs real cameras and scanners make are accepted."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from storage.db import db
from storage.models import Image as ImageRow
from tests.conftest import MAX_IMAGE_BYTES, build_client
from tests.helpers import create_task, multipart
from tools.emulator_faces import make_jpeg

UNKNOWN = "6f1c2b0e-0000-4000-8000-000000000000"


def jpeg(size: tuple[int, int] = (8, 8), mode: str = "RGB", **save: Any) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (10, 200, 30, 40)[: len(mode)] if len(mode) > 1 else 99).save(buffer, "JPEG", **save)
    return buffer.getvalue()


def claims_pixels(width: int, height: int) -> bytes:
    """A small real JPEG whose header claims ``width`` x ``height``."""
    data = bytearray(jpeg((16, 16)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


def exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    return jpeg((16, 8), exif=exif.tobytes())


def raw(data: bytes, name: str | None = "a.jpg", content_type: str = "image/jpeg") -> dict[str, Any]:
    return {"body": data, "headers": {"Content-Type": content_type}, "params": {"name": name} if name else {}}


def form(fields: dict[str, Any] | list[tuple[str, Any]]) -> dict[str, Any]:
    body, content_type = multipart(fields)
    return {"body": body, "headers": {"Content-Type": content_type}}


def as_json(text: str) -> dict[str, Any]:
    return {"body": text.encode(), "headers": {"Content-Type": "application/json"}}


IMAGES = "/api/v1/tasks/{forming}/images"
NOT_JPEG = "The file is not a JPEG image; only JPEG is accepted."
TOO_BIG = f"An image may be at most {MAX_IMAGE_BYTES} bytes."
NAME = "The image name ('name' part, ?name= or the file's name)"
BAD_ID_404 = ("404 Not Found", "There is nothing at this address: check the path and the ids in it.")

# (case, method, path, request, status, title, description); a description ending in "…" is a prefix.
CASES: list[tuple[str, str, str, dict[str, Any], int, str, str]] = [
    # --- images, raw bodies
    ("zero bytes", "POST", IMAGES, raw(b""), 400, "Empty image", "The uploaded image has no bytes."),
    ("a PNG declared as JPEG", "POST", IMAGES, raw(b"\x89PNG\r\n\x1a\n" + b"\0" * 40), 415, "Not a JPEG", NOT_JPEG),
    ("text", "POST", IMAGES, raw(b"hello", content_type="text/plain"), 415, "Not a JPEG", NOT_JPEG),
    ("a truncated JPEG", "POST", IMAGES, raw(make_jpeg(64, 64)[:300]), 422, "Corrupt JPEG",
     "The JPEG image is corrupt or truncated: …"),
    ("a JPEG signature then noise", "POST", IMAGES, raw(b"\xff\xd8\xff" + os.urandom(200)), 422, "Corrupt JPEG",
     "The JPEG image is corrupt or truncated: …"),
    ("a header claiming 20,000 x 20,000 pixels", "POST", IMAGES, raw(claims_pixels(20000, 20000)), 413,
     "Image too large", "The image has more pixels than Pillow will open; at most 120,000,000."),
    ("a header claiming 12,000 x 11,000 pixels", "POST", IMAGES, raw(claims_pixels(12000, 11000)), 413,
     "Image too large", "The image has 12000 x 11000 = 132,000,000 pixels; at most 120,000,000 are accepted."),
    ("bytes over the limit", "POST", IMAGES, raw(make_jpeg() + b"\0" * MAX_IMAGE_BYTES), 413, "Image too large",
     TOO_BIG),
    ("a raw body without a name", "POST", IMAGES, raw(make_jpeg(), name=None), 400, "Missing name",
     "Give the image a name: a 'name' part, ?name=, or a file name."),
    ("a name of 256 characters", "POST", IMAGES, raw(make_jpeg(), name="n" * 256), 400, "Invalid name",
     f"{NAME} must be at most 255 characters."),
    ("a name with NUL", "POST", IMAGES, raw(make_jpeg(), name="a\x00b.jpg"), 400, "Invalid name",
     f"{NAME} must not contain a NUL character."),
    ("a blank name", "POST", IMAGES, raw(make_jpeg(), name="   "), 400, "Invalid name",
     f"{NAME} must be a non-empty string."),
    # --- images, multipart
    ("multipart without a file part", "POST", IMAGES, form({"name": "a.jpg"}), 400, "Missing file",
     "The multipart body needs a part named 'file' holding the image."),
    ("multipart with two files", "POST", IMAGES, form([("file", ("a.jpg", make_jpeg())), ("file", ("b.jpg", jpeg()))]),
     400, "Too many files", "Send one 'file' part per request."),
    ("multipart with a 300-character file name", "POST", IMAGES, form({"file": ("f" * 296 + ".jpg", make_jpeg())}),
     400, "Invalid name", f"{NAME} must be at most 255 characters."),
    ("multipart with no body", "POST", IMAGES, {"headers": {"Content-Type": "multipart/form-data; boundary=x"}},
     400, "Missing file", "The multipart body needs a part named 'file' holding the image."),
    ("multipart whose file part has no file name and no name", "POST", IMAGES, form({"file": make_jpeg()}), 400,
     "Missing name", "Give the image a name: a 'name' part, ?name=, or a file name."),
    ("an image for a task that does not exist", "POST", f"/api/v1/tasks/{UNKNOWN}/images", raw(make_jpeg()), 404,
     "Task not found", f"There is no task {UNKNOWN}."),
    ("an image for a malformed task id", "POST", "/api/v1/tasks/not-a-uuid/images", raw(make_jpeg()), 404,
     *BAD_ID_404),
    ("an image for a started task", "POST", "/api/v1/tasks/{started}/images", raw(make_jpeg()), 409,
     "Wrong task state", "a task can be given images only while it is forming; this one is processing"),
    # --- tasks, JSON bodies
    ("malformed JSON", "POST", "/api/v1/tasks", as_json("{not json"), 400, "Invalid JSON", "…"),
    ("a JSON array", "POST", "/api/v1/tasks", as_json('["name"]'), 400, "Invalid body",
     'The body must be a JSON object like {"name": "…"}.'),
    ("a JSON null", "POST", "/api/v1/tasks", as_json("null"), 400, "Invalid body",
     'The body must be a JSON object like {"name": "…"}.'),
    ("a number for a name", "POST", "/api/v1/tasks", as_json('{"name": 42}'), 400, "Invalid name",
     '"name" must be a non-empty string.'),
    ("an empty name", "POST", "/api/v1/tasks", as_json('{"name": ""}'), 400, "Invalid name",
     '"name" must be a non-empty string.'),
    ("a 256-character name", "POST", "/api/v1/tasks", as_json('{"name": "' + "x" * 256 + '"}'), 400,
     "Invalid name", '"name" must be at most 255 characters.'),
    ("a NUL in the name", "POST", "/api/v1/tasks", as_json('{"name": "a\\u0000b"}'), 400, "Invalid name",
     '"name" must not contain a NUL character.'),
    ("a lone surrogate in the name", "POST", "/api/v1/tasks", as_json('{"name": "a\\ud800b"}'), 400,
     "Invalid name", '"name" must be valid Unicode text (it holds a lone surrogate).'),
    ("a huge JSON body", "POST", "/api/v1/tasks", as_json('{"name": "' + "x" * 100_000 + '"}'), 413,
     "Body too large", "A task's JSON body may be at most 65536 bytes."),
    ("a callback while webhooks are off", "POST", "/api/v1/tasks", as_json('{"callback_url": "http://a/b"}'), 400,
     "Invalid callback_url", '"callback_url" cannot be used: webhooks are off on this service '
     "(no WEBHOOK_ALLOWED_HOSTS or WEBHOOK_SECRET)."),
    # --- paging and parameters
    ("page 0", "GET", "/api/v1/tasks", {"params": {"page": "0"}}, 400, "Invalid parameter", "…page…"),
    ("a page that is not a number", "GET", "/api/v1/tasks", {"params": {"page": "two"}}, 400, "Invalid parameter",
     "…page…"),
    ("a page size of 101", "GET", "/api/v1/tasks", {"params": {"page_size": "101"}}, 400, "Invalid parameter",
     "…page_size…"),
    ("an unknown status", "GET", "/api/v1/tasks", {"params": {"status": "done"}}, 400, "Invalid parameter",
     "…status…"),
    ("an image page size of 0", "GET", "/api/v1/tasks/{forming}/images", {"params": {"page_size": "0"}}, 400,
     "Invalid parameter", "…page_size…"),
    ("images=maybe", "GET", "/api/v1/tasks/{forming}", {"params": {"images": "maybe"}}, 400, "Invalid parameter",
     "…images…"),
    ("images empty", "GET", "/api/v1/tasks/{forming}", {"query_string": "images="}, 400, "Invalid parameter",
     'The "images" parameter is invalid. The value of the parameter must be "true" or "false", not empty.'),
    # --- ids and states
    ("a malformed task id", "GET", "/api/v1/tasks/123", {}, 404, *BAD_ID_404),
    ("deleting an unknown task", "DELETE", f"/api/v1/tasks/{UNKNOWN}", {}, 404, "Task not found",
     f"There is no task {UNKNOWN}."),
    ("starting an unknown task", "POST", f"/api/v1/tasks/{UNKNOWN}/start", {}, 404, "Task not found",
     f"There is no task {UNKNOWN}."),
    ("retrying a forming task", "POST", "/api/v1/tasks/{forming}/retry", {}, 409, "Wrong task state",
     "a task can be retried only while it is failed; this one is forming"),
    ("starting a task without images", "POST", "/api/v1/tasks/{empty}/start", {}, 409, "Wrong task state",
     "the task has no images to process; add at least one before it can be started"),
    ("the file of an unknown image", "GET", f"/api/v1/tasks/{{forming}}/images/{UNKNOWN}/file", {}, 404,
     "Image not found", "Task {forming} has no image " + UNKNOWN + "."),
    # --- routes
    ("an unknown route", "GET", "/api/v2/tasks", {}, 404, *BAD_ID_404),
    ("a wrong method", "PUT", "/api/v1/tasks", {}, 405, "405 Method Not Allowed",
     "This address does not accept that method."),
]


@pytest.fixture
def tasks(client) -> dict[str, str]:
    forming, started, empty = (create_task(client, n)["id"] for n in ("forming", "started", "empty"))
    client.simulate_post(f"/api/v1/tasks/{started}/images", **raw(make_jpeg()))
    client.simulate_post(f"/api/v1/tasks/{started}/start")
    return {"forming": forming, "started": started, "empty": empty}


@pytest.mark.parametrize(("case", "method", "path", "request_", "status", "title", "description"), CASES,
                         ids=[c[0] for c in CASES])
def test_each_bad_request_answers_its_status_and_json_error(client, tasks, storage_dir, case, method, path,
                                                            request_, status, title, description):
    for key, task_id in tasks.items():
        path = path.replace(f"{{{key}}}", task_id)
    result = client.simulate_request(method, path, **request_)

    assert result.status_code == status, result.text
    assert set(result.json) == {"title", "description"} and result.json["title"] == title
    expected = description
    for key, task_id in tasks.items():
        path, expected = path.replace(f"{{{key}}}", task_id), expected.replace(f"{{{key}}}", task_id)
    if expected.startswith("…"):
        assert expected.strip("…") in result.json["description"]
    elif expected.endswith("…"):
        assert result.json["description"].startswith(expected[:-1])
    else:
        assert result.json["description"] == expected
    assert "Traceback" not in result.text and "SELECT" not in result.text
    with db.connection_context():
        assert ImageRow.select().where(ImageRow.task == tasks["forming"]).count() == 0
    incoming = storage_dir / ".incoming"
    assert list(incoming.iterdir() if incoming.exists() else []) == []


@pytest.mark.parametrize(("case", "data"), [
    ("CMYK", lambda: jpeg(mode="CMYK")),
    ("greyscale", lambda: jpeg(mode="L")),
    ("progressive", lambda: jpeg((64, 48), progressive=True)),
    ("one pixel", lambda: jpeg((1, 1))),
    ("EXIF-rotated", exif_rotated),
], ids=lambda value: value if isinstance(value, str) else "")
def test_the_odd_jpegs_cameras_and_scanners_make_are_accepted_byte_for_byte(client, tasks, case: str,
                                                                           data: Callable[[], bytes]):
    image = data()

    result = client.simulate_post(f"/api/v1/tasks/{tasks['forming']}/images", **raw(image, name=f"{case}.jpg"))

    assert result.status_code == 201, result.text
    stored = client.simulate_get(f"/api/v1/tasks/{tasks['forming']}/images/{result.json['id']}/file")
    assert stored.content == image


def test_a_name_like_a_path_is_stored_verbatim_and_the_file_stays_in_its_place(client, tasks, storage_dir):
    name = "../../../etc/passwd"

    result = client.simulate_post(f"/api/v1/tasks/{tasks['forming']}/images", **raw(make_jpeg(), name=name))

    assert result.status_code == 201 and result.json["name"] == name
    assert (storage_dir / tasks["forming"] / f"{result.json['id']}.jpg").is_file()


@pytest.fixture
def guarded(clean_db, storage_dir, publisher):
    return build_client(storage_dir, publisher, ("alice", "wonder:land"))


@pytest.mark.parametrize("authorization", [
    None, "Bearer abc", "Basic !!!not-base64!!!", "Basic " + base64.b64encode(b"alice:wrong").decode(),
    "Basic " + base64.b64encode(b"no-colon").decode(), "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
])
def test_wrong_credentials_in_any_shape_are_a_json_401(guarded, authorization):
    headers = {"Authorization": authorization} if authorization else {}

    result = guarded.simulate_get("/api/v1/tasks", headers=headers)

    assert result.status_code == 401 and result.headers["WWW-Authenticate"].startswith("Basic")
    assert set(result.json) == {"title", "description"} and result.json["description"]


@pytest.fixture
def full_disk(clean_db, publisher, tmp_path) -> Iterator[tuple[Any, Path]]:
    """The API with its image store on a tmpfs of 384 KiB (as root; skipped otherwise)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; the disk-full case is not run")
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=384k", "tmpfs", str(mount)], capture_output=True,
                          check=False)
    if done.returncode != 0:
        pytest.skip(f"no tmpfs can be mounted here: {done.stderr.decode().strip()}")
    try:
        yield build_client(mount, publisher), mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_is_a_507_and_leaves_nothing_half_written(full_disk):
    client, mount = full_disk
    task = create_task(client)
    big = make_jpeg(8, 8) + os.urandom(200_000)
    first = client.simulate_post(f"/api/v1/tasks/{task['id']}/images", **raw(big, name="first.jpg"))

    second = client.simulate_post(f"/api/v1/tasks/{task['id']}/images", **raw(big, name="second.jpg"))

    assert first.status_code == 201
    assert second.status_code == 507
    assert second.json == {"title": "Storage full",
                           "description": "The image store has no space left; nothing was kept. Try again later."}
    images = client.simulate_get(f"/api/v1/tasks/{task['id']}").json["images"]
    assert [i["name"] for i in images] == ["first.jpg"]
    assert list((mount / ".incoming").iterdir()) == []
    assert [p.name for p in (mount / task["id"]).iterdir()] == [f"{first.json['id']}.jpg"]
    assert uuid.UUID(first.json["id"])
