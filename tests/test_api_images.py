"""Uploading images and reading them back: formats, names, limits, states."""

from __future__ import annotations

import random
import uuid

from PIL import Image

from tests.conftest import MAX_IMAGE_BYTES
from tests.helpers import create_task, multipart, upload, upload_form
from tools.emulator_faces import make_jpeg


def _noisy_jpeg(min_bytes: int) -> bytes:
    """A real JPEG of at least ``min_bytes`` (noise does not compress)."""
    import io
    import os

    side = 64
    while True:
        buffer = io.BytesIO()
        Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, "JPEG", quality=95)
        if buffer.tell() >= min_bytes:
            return buffer.getvalue()
        side *= 2


def test_a_raw_jpeg_body_named_by_the_query_is_stored_byte_for_byte(client, storage_dir):
    task = create_task(client)
    data = make_jpeg(faces=[])

    result = upload(client, task["id"], data, "room.jpg")

    assert result.status_code == 201
    image = result.json
    assert image == {"id": image["id"], "name": "room.jpg", "status": "pending", "error": None, "faces": []}
    assert (storage_dir / task["id"] / f"{image['id']}.jpg").read_bytes() == data
    served = client.simulate_get(f"/api/v1/tasks/{task['id']}/images/{image['id']}/file")
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/jpeg"
    assert served.content == data


def test_a_multipart_upload_takes_the_name_part(client):
    task = create_task(client)
    data = make_jpeg(faces=[])

    result = upload_form(client, task["id"], {"file": ("IMG_0001.JPG", data, "image/jpeg"), "name": "team photo"})

    assert result.status_code == 201
    assert result.json["name"] == "team photo"
    served = client.simulate_get(f"/api/v1/tasks/{task['id']}/images/{result.json['id']}/file")
    assert served.content == data


def test_a_multipart_upload_without_a_name_part_is_named_after_its_file(client):
    task = create_task(client)

    result = upload_form(client, task["id"], {"file": ("C:\\photos\\beach.jpg", make_jpeg(faces=[]), "image/jpeg")})

    assert result.status_code == 201
    assert result.json["name"] == "beach.jpg"


def test_images_are_listed_in_upload_order_in_the_task(client):
    task = create_task(client)
    names = [f"{i}.jpg" for i in range(4)]
    ids = [upload(client, task["id"], make_jpeg(faces=[]), n).json["id"] for n in names]

    images = client.simulate_get(f"/api/v1/tasks/{task['id']}").json["images"]

    assert [(i["id"], i["name"]) for i in images] == list(zip(ids, names, strict=True))


def test_a_png_is_refused_with_415_even_when_declared_as_jpeg(client):
    task = create_task(client)
    import io

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PNG")

    raw = upload(client, task["id"], buffer.getvalue(), "x.jpg")
    form = upload_form(client, task["id"], {"file": ("x.jpg", buffer.getvalue(), "image/jpeg")})

    assert raw.status_code == form.status_code == 415
    assert raw.json["description"]
    assert client.simulate_get(f"/api/v1/tasks/{task['id']}").json["images"] == []


def test_a_truncated_jpeg_is_refused_with_422(client, storage_dir):
    task = create_task(client)
    data = _noisy_jpeg(20_000)

    result = upload(client, task["id"], data[: len(data) // 2], "cut.jpg")

    assert result.status_code == 422
    assert "corrupt" in result.json["description"]
    assert client.simulate_get(f"/api/v1/tasks/{task['id']}").json["images"] == []
    assert not (storage_dir / task["id"]).exists()


def test_an_image_over_the_limit_is_refused_with_413_and_nothing_is_kept(client, storage_dir):
    task = create_task(client)
    data = _noisy_jpeg(MAX_IMAGE_BYTES + 1)

    raw = upload(client, task["id"], data, "big.jpg")
    form = upload_form(client, task["id"], {"file": ("big.jpg", data, "image/jpeg")})

    assert raw.status_code == form.status_code == 413
    assert str(MAX_IMAGE_BYTES) in raw.json["description"]
    assert client.simulate_get(f"/api/v1/tasks/{task['id']}").json["images"] == []
    assert list((storage_dir / ".incoming").iterdir()) == []


def test_an_image_without_a_name_or_bytes_is_a_400(client):
    task = create_task(client)
    no_name = client.simulate_post(
        f"/api/v1/tasks/{task['id']}/images", body=make_jpeg(faces=[]), headers={"Content-Type": "image/jpeg"}
    )
    empty = upload(client, task["id"], b"", "empty.jpg")
    no_file = upload_form(client, task["id"], {"name": "lonely"})
    no_body = client.simulate_post(
        f"/api/v1/tasks/{task['id']}/images", body=b"", headers={"Content-Type": "multipart/form-data; boundary=x"}
    )

    assert (no_name.status_code, empty.status_code, no_file.status_code, no_body.status_code) == (400, 400, 400, 400)
    assert "name" in no_name.json["description"]
    assert "file" in no_file.json["description"]


def test_uploading_to_an_unknown_task_is_a_404(client):
    assert upload(client, str(uuid.uuid4()), make_jpeg(faces=[]), "a.jpg").status_code == 404


def test_uploading_to_a_started_task_is_a_409(client):
    task = create_task(client)
    upload(client, task["id"], make_jpeg(faces=[]), "a.jpg")
    assert client.simulate_post(f"/api/v1/tasks/{task['id']}/start").status_code == 202

    result = upload(client, task["id"], make_jpeg(faces=[]), "late.jpg")

    assert result.status_code == 409
    assert "forming" in result.json["description"]


def test_the_file_of_an_unknown_image_is_a_404(client):
    task = create_task(client)
    other = create_task(client)
    image = upload(client, other["id"], make_jpeg(faces=[]), "a.jpg").json

    assert client.simulate_get(f"/api/v1/tasks/{task['id']}/images/{uuid.uuid4()}/file").status_code == 404
    assert client.simulate_get(f"/api/v1/tasks/{task['id']}/images/{image['id']}/file").status_code == 404


def _mutations(data: bytes, count: int, seed: int) -> list[bytes]:
    """``count`` damaged copies of ``data``: bytes flipped, cut out, inserted, the end truncated."""
    rnd = random.Random(seed)
    damaged = []
    for _ in range(count):
        copy = bytearray(data)
        for _ in range(rnd.randint(1, 5)):
            pos = rnd.randrange(len(copy))
            choice = rnd.random()
            if choice < 0.4:
                copy[pos] = rnd.randrange(256)
            elif choice < 0.7:
                del copy[pos : pos + rnd.randint(1, 50)]
            else:
                copy[pos:pos] = rnd.randbytes(rnd.randint(1, 20))
        damaged.append(bytes(copy[: rnd.choice([len(copy), rnd.randrange(1, len(copy) + 1)])]))
    return damaged


def test_damaged_uploads_get_a_client_error_never_a_500_and_leave_no_file(client, storage_dir):
    task = create_task(client)
    body, content_type = multipart({"file": ("a.jpg", _noisy_jpeg(2_000), "image/jpeg"), "name": "x"})
    forms = [(b, content_type) for b in _mutations(body, 200, seed=1)]
    raws = [(b, "image/jpeg") for b in _mutations(_noisy_jpeg(2_000), 200, seed=2)]

    codes = {
        client.simulate_post(f"/api/v1/tasks/{task['id']}/images", body=b, headers={"Content-Type": ct}).status_code
        for b, ct in forms + raws
    }

    assert codes <= {201, 400, 413, 415, 422}, codes
    accepted = client.simulate_get(f"/api/v1/tasks/{task['id']}").json["images"]
    stored = list((storage_dir / task["id"]).glob("*.jpg")) if (storage_dir / task["id"]).exists() else []
    assert len(stored) == len(accepted)
    assert list((storage_dir / ".incoming").iterdir()) == []
