"""``GET …/annotated``: the image with its faces' boxes and labels drawn, through the real pipeline."""

from __future__ import annotations

import io
from typing import Any

import falcon.testing
from PIL import Image

from api.drawing import COLORS, label
from tests.helpers import create_task, upload, wait_until_final
from tools.emulator_faces import face, make_jpeg

GRAY = (128, 128, 128)
FACES = [face(40, 24, 60, 64, "female", 28), face(130, 60, 50, 50, "male", 41.5), face(-10, 115, 40, 40, None, 30)]


def decode(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def distance(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    return max(abs(x - y) for x, y in zip(a, b, strict=True))


def processed_task(client: falcon.testing.TestClient, images: dict[str, bytes]) -> dict[str, Any]:
    task = create_task(client)
    for name, data in images.items():
        assert upload(client, task["id"], data, name).status_code == 201
    assert client.simulate_post(f"/api/v1/tasks/{task['id']}/start").status_code == 202
    final = wait_until_final(client, task["id"])
    assert final["status"] == "completed", final
    return final


def test_boxes_and_labels_are_drawn_at_the_faces(client, workers, fresh_emulator) -> None:
    original = make_jpeg(200, 160, faces=FACES, color=GRAY)
    task = processed_task(client, {"people.jpg": original, "room.jpg": make_jpeg(90, 60, faces=[])})
    people, room = task["images"]
    base = f"/api/v1/tasks/{task['id']}/images"

    result = client.simulate_get(f"{base}/{people['id']}/annotated")
    assert result.status_code == 200
    assert result.headers["Content-Type"] == "image/jpeg"
    drawn, plain = decode(result.content), decode(original)
    assert drawn.size == plain.size == (200, 160)
    for f in people["faces"]:
        box, color = f["bbox"], COLORS[f["gender"]]
        right, bottom = box["x"] + box["width"] - 1, box["y"] + box["height"] - 1
        middle = box["y"] + box["height"] // 2
        edges = [(right, middle), (box["x"] + box["width"] // 2, bottom)]
        if box["x"] >= 0:  # a left edge off the picture is not drawn
            edges.append((box["x"], middle))
        for x, y in edges:
            # The gray picture underneath is gone: the box's colour is there (JPEG blurs it a little).
            assert distance(drawn.getpixel((x, y)), plain.getpixel((x, y))) > 40, (f, x, y)
            assert distance(drawn.getpixel((x, y)), color) < 60, (f, x, y)
        # Inside the box, away from its edges and its label, the picture is untouched.
        assert distance(drawn.getpixel((right - 6, bottom - 6)), plain.getpixel((right - 6, bottom - 6))) < 12
    assert [label(f["gender"], f["age"]) for f in people["faces"]] == ["female · 28", "male · 42", "unknown · 30"]

    empty = client.simulate_get(f"{base}/{room['id']}/annotated")
    assert empty.status_code == 200
    assert decode(empty.content).size == (90, 60)
    assert distance(decode(empty.content).getpixel((45, 30)), GRAY) < 6


def test_unknown_ids_are_404_like_the_file(client, workers, fresh_emulator) -> None:
    task = processed_task(client, {"a.jpg": make_jpeg(64, 64, faces=[])})
    other = create_task(client)
    image_id = task["images"][0]["id"]
    unknown = "6f1c2b0e-0000-4000-8000-000000000000"
    for path in (
        f"/api/v1/tasks/{unknown}/images/{image_id}",
        f"/api/v1/tasks/{task['id']}/images/{unknown}",
        f"/api/v1/tasks/{other['id']}/images/{image_id}",
        f"/api/v1/tasks/{task['id']}/images/not-a-uuid",
    ):
        for kind in ("file", "annotated"):
            result = client.simulate_get(f"{path}/{kind}")
            assert result.status_code == 404, (path, kind)
            assert set(result.json) == {"title", "description"}
    client.simulate_delete(f"/api/v1/tasks/{task['id']}")
    assert client.simulate_get(f"/api/v1/tasks/{task['id']}/images/{image_id}/annotated").status_code == 404


def test_an_image_too_big_to_decode_is_422_not_500(client, monkeypatch) -> None:
    task = create_task(client)
    image = upload(client, task["id"], make_jpeg(64, 64), "wide.jpg").json
    # Pillow refuses to decode past twice this many pixels; lowered so a small image stands in for a huge one.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    result = client.simulate_get(f"/api/v1/tasks/{task['id']}/images/{image['id']}/annotated")
    assert result.status_code == 422
    assert result.json["title"] == "Image too large to draw on"
    assert client.simulate_get(f"/api/v1/tasks/{task['id']}/images/{image['id']}/file").status_code == 200
