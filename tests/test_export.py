"""``GET …/faces.csv``: the task's faces as a spreadsheet reads them, against the task JSON."""

from __future__ import annotations

import csv
import io
import uuid

from detectors.base import Face
from tests.helpers import create_task, upload
from tests.test_task_reads import end_images
from tools.emulator_faces import make_jpeg

HEADER = ["image_id", "image_name", "status", "error", "x", "y", "width", "height", "gender", "age", "score"]


def read_csv(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def test_the_csv_has_a_row_per_face_and_per_faceless_image_in_upload_order_equal_to_the_task_json(client):
    task = create_task(client, "export")
    names = ["team, with \"quotes\".jpg", "=HYPERLINK(1).jpg", "пустая комната.jpg", "-minus.jpg"]
    for name in names:
        assert upload(client, task["id"], make_jpeg(faces=[]), name).status_code == 201
    end_images(task["id"], [
        [Face(-5, 3, 30, 31, "female", 28.0, 0.99), Face(1, 2, 3, 4, "unknown", 41.5, 0.5)],
        None,
        [],
    ])

    result = client.simulate_get(f"/api/v1/tasks/{task['id']}/faces.csv")
    whole = client.simulate_get(f"/api/v1/tasks/{task['id']}").json

    assert result.status_code == 200
    assert result.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in result.headers["Content-Disposition"]
    assert b"\r\n" in result.content
    rows = read_csv(result.content)
    assert rows[0] == HEADER
    expected = []
    for image in whole["images"]:
        name = "'" + image["name"] if image["name"][0] in "=+-@" else image["name"]
        head = [image["id"], name, image["status"], image["error"] or ""]
        if not image["faces"]:
            expected.append([*head, *[""] * 7])
        for f in image["faces"]:
            b = f["bbox"]
            face = [str(b["x"]), str(b["y"]), str(b["width"]), str(b["height"]), f["gender"], repr(f["age"]),
                    repr(f["score"])]
            expected.append([*head, *face])
    assert rows[1:] == expected
    assert [r[1] for r in rows[1:]] == [names[0], names[0], "'" + names[1], names[2], "'" + names[3]]
    assert rows[1][9] == "28.0" and rows[3][3] == "bad image" and rows[3][2] == "failed"


def test_the_csv_of_an_unknown_task_is_a_json_404(client):
    result = client.simulate_get(f"/api/v1/tasks/{uuid.uuid4()}/faces.csv")

    assert result.status_code == 404 and result.json["title"] == "Task not found"
