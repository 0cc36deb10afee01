"""Archive members as `tar`, `zip` and other tools name them: `./x.jpg` and `/x.jpg` are photos, not hidden
files; an archive that adds nothing says so (real PostgreSQL and files)."""

from __future__ import annotations

import io
import subprocess
import tarfile
import zipfile

from tests.helpers import create_task
from tests.test_archives import images_of, post, tar_of, zip_of
from tools.emulator_faces import make_jpeg

PHOTO = make_jpeg(faces=[], color=(10, 40, 80))


def test_a_tar_made_with_dot_as_its_folder_keeps_every_photo_under_its_plain_name(client, tmp_path):
    photos = tmp_path / "photos"
    (photos / "day 2").mkdir(parents=True)
    for name in ("a.jpg", "day 2/b.jpg", ".DS_Store"):
        (photos / name).write_bytes(PHOTO)
    task = create_task(client)
    body = subprocess.run(["tar", "czf", "-", "-C", str(photos), "."], check=True, capture_output=True).stdout

    result = post(client, task["id"], body, "application/gzip")

    assert result.status_code == 201
    assert sorted(i["name"] for i in result.json["items"]) == ["a.jpg", "day 2/b.jpg"]
    hidden = [(r["name"], r["title"]) for r in result.json["rejected"] if r["title"] != "Not a file"]
    assert hidden == [("./.DS_Store", "Hidden file")]


def test_a_leading_slash_or_dot_slash_is_not_part_of_the_name_and_hides_nothing(client):
    task = create_task(client)
    members = {"/abs.jpg": PHOTO, "./dot.jpg": PHOTO, ".//x/./y.jpg": PHOTO}

    result = post(client, task["id"], zip_of(members), "application/zip")

    assert result.status_code == 201 and result.json["rejected"] == []
    assert [i["name"] for i in result.json["items"]] == ["abs.jpg", "dot.jpg", "x/y.jpg"]


def test_a_member_is_hidden_when_one_of_its_own_segments_starts_with_a_dot(client):
    task = create_task(client)
    members = {"./.git/a.jpg": PHOTO, "x/.hidden.jpg": PHOTO, "../up.jpg": PHOTO, "__MACOSX/._k.jpg": PHOTO,
               "kept.jpg": PHOTO}

    result = post(client, task["id"], tar_of(members), "application/gzip")

    assert [i["name"] for i in result.json["items"]] == ["kept.jpg"]
    assert [(r["name"], r["title"]) for r in result.json["rejected"]] == [
        ("./.git/a.jpg", "Hidden file"), ("x/.hidden.jpg", "Hidden file"), ("../up.jpg", "Hidden file"),
        ("__MACOSX/._k.jpg", "Hidden file"),
    ]


def test_an_archive_with_no_jpeg_to_add_is_a_422_naming_what_was_rejected_and_adds_nothing(client):
    task = create_task(client)
    members = {"docs/": b"", "notes.txt": b"not a photo", ".DS_Store": PHOTO, "c.png": b"\x89PNG\r\n", "d.txt": b""}

    result = post(client, task["id"], zip_of(members), "application/zip")

    assert result.status_code == 422
    assert result.json == {
        "title": "No JPEG in the archive",
        "description": "The archive holds 5 members, none a JPEG that could be added (notes.txt: Not a JPEG; "
                       ".DS_Store: Hidden file; c.png: Not a JPEG; …); nothing was added.",
    }
    assert images_of(client, task["id"]) == []


def test_an_empty_archive_is_a_422_too(client):
    task = create_task(client)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w"):
        pass
    empty_zip = io.BytesIO()
    zipfile.ZipFile(empty_zip, "w").close()

    results = [post(client, task["id"], buffer.getvalue(), "application/x-tar"),
               post(client, task["id"], empty_zip.getvalue(), "application/zip")]

    assert [(r.status_code, r.json["description"]) for r in results] == [
        (422, "The archive holds no members; nothing was added."),
    ] * 2
