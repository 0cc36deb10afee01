"""Test images and rows written straight into the database and the image store.

Used where going through the API would measure the API instead of the thing in question (a
1,000-image task to read back, the rows of a ceiling run, 10,000 images for the memory run).
"""

from __future__ import annotations

import io
import os
import random
import uuid
from collections.abc import Sequence
from pathlib import Path

from peewee import fn
from PIL import Image as PILImage

from storage.audit import recount
from storage.db import db
from storage.files import FileStore
from storage.models import Image, Task, User
from tools.emulator_faces import face, make_jpeg

BATCH = 1000


def face_jpegs(count: int, seed: int = 6) -> list[bytes]:
    """Small distinct JPEGs, each telling the emulator to answer 1 to 3 faces."""
    rng = random.Random(seed)
    images = []
    for index in range(count):
        faces = [
            face(rng.randint(0, 40), rng.randint(0, 40), 20, 20, rng.choice(("male", "female", "unknown")),
                 round(rng.uniform(18, 70), 1))
            for _ in range(1 + index % 3)
        ]
        images.append(make_jpeg(64, 64, faces=faces, color=(index % 256, (index * 7) % 256, 128)))
    return images


def noise_jpeg(target_bytes: int = 100 * 1024) -> bytes:
    """A JPEG of random pixels just over ``target_bytes`` (noise does not compress)."""
    rng = random.Random(100)
    side = 128
    while True:
        pixels = rng.randbytes(side * side * 3)
        buffer = io.BytesIO()
        PILImage.frombytes("RGB", (side, side), pixels).save(buffer, format="JPEG", quality=85)
        if buffer.tell() >= target_bytes:
            return buffer.getvalue()
        side += 16


def task_row(status: str, remaining: int = 0, name: str | None = None) -> uuid.UUID:
    task_id = uuid.uuid4()
    finished = status in ("completed", "failed")
    Task.insert(
        id=task_id, name=name, status=status, remaining=remaining, owner=User.select(User.id).where(User.bootstrap),
        created_at=fn.now(), updated_at=fn.now(),
        started_at=fn.now() if status != "forming" else None, finished_at=fn.now() if finished else None,
    ).execute()
    return task_id


def image_rows(task_id: uuid.UUID, count: int, status: str, sizes: Sequence[int] = (1,)) -> list[uuid.UUID]:
    """``count`` images in positions 1..count, then the task's kept figures recounted."""
    ids = [uuid.uuid4() for _ in range(count)]
    fields = [Image.id, Image.task, Image.name, Image.status, Image.size, Image.position, Image.run]
    run = 0 if status == "pending" else 1
    for start in range(0, count, BATCH):
        rows = [(i, task_id, f"img-{start + n:05d}.jpg", status, sizes[(start + n) % len(sizes)], start + n + 1, run)
                for n, i in enumerate(ids[start : start + BATCH])]
        Image.insert_many(rows, fields=fields).execute()
    recount(task_id)
    return ids


_FACES_SQL = """
INSERT INTO faces (image_id, x, y, width, height, gender, age, score)
SELECT * FROM unnest(%s::uuid[], %s::int[], %s::int[], %s::int[], %s::int[], %s::text[], %s::float8[], %s::float8[])
"""


def face_rows(task_id: uuid.UUID, image_ids: Sequence[uuid.UUID], per_image: int, seed: int = 4) -> None:
    rng = random.Random(seed)
    rows = [
        (str(image_id), rng.randint(-10, 600), rng.randint(-10, 400), 64, 64,
         rng.choice(("male", "female", "unknown")), round(rng.uniform(18, 70), 1), 0.99)
        for image_id in image_ids for _ in range(per_image)
    ]
    for start in range(0, len(rows), BATCH * 10):
        db.execute_sql(_FACES_SQL, [list(column) for column in zip(*rows[start : start + BATCH * 10], strict=True)])
    recount(task_id)


def forming_task(store_root: Path, images: Sequence[bytes], count: int) -> str:
    """A forming task of ``count`` pending images (cycling through ``images``) with their files."""
    store = FileStore(store_root)
    with db.connection_context(), db.atomic():
        task_id = task_row("forming")
        ids = image_rows(task_id, count, "pending", [len(data) for data in images])
    for index, image_id in enumerate(ids):
        path = store.path(task_id, image_id)
        if index == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(images[index % len(images)])
    return str(task_id)


def forming_rows(count: int) -> str:
    """A forming task of ``count`` pending images, rows only (its start is what is measured)."""
    with db.connection_context(), db.atomic():
        task_id = task_row("forming")
        image_rows(task_id, count, "pending")
    return str(task_id)


def queued_task(count: int) -> tuple[str, list[str]]:
    """A processing task of ``count`` queued images and no files: the ceiling actors' input."""
    with db.connection_context(), db.atomic():
        task_id = task_row("processing", remaining=count)
        ids = image_rows(task_id, count, "queued")
        Task.update(queued_through=count, run=1).where(Task.id == task_id).execute()
    return str(task_id), [str(i) for i in ids]


def completed_task(count: int, faces_per_image: int) -> str:
    """A completed task of ``count`` done images with ``faces_per_image`` faces each (rows only)."""
    with db.connection_context(), db.atomic():
        task_id = task_row("completed")
        ids = image_rows(task_id, count, "done", [os.urandom(1)[0] + 1000])
        face_rows(task_id, ids, faces_per_image)
    return str(task_id)


def mixed_photos(portrait_and_empty: Sequence[bytes]) -> list[bytes]:
    """Photos of every kind the local detector meets, made from a portrait and a faceless photo.

    The portrait as it is, tilted by 20 and -35 degrees, stored turned with EXIF orientation 6, and
    enlarged to 1600 x 1600; a 1920 x 1080 crowd of twelve copies with faces about 30 px wide; the
    faceless photo as it is and tilted.
    """
    portrait, empty = (PILImage.open(io.BytesIO(data)).convert("RGB") for data in portrait_and_empty)
    crowd = empty.resize((1920, 1080))
    tile = portrait.resize((170, 170))
    for index in range(12):
        crowd.paste(tile, (40 + (index % 6) * 310, 150 + (index // 6) * 450))
    exif = PILImage.Exif()
    exif[0x0112] = 6
    pictures = [
        (portrait, {}),
        (portrait.rotate(20, expand=True), {}),
        (portrait.rotate(-35, expand=True), {}),
        (portrait.transpose(PILImage.Transpose.ROTATE_90), {"exif": exif}),
        (portrait.resize((1600, 1600)), {}),
        (crowd, {}),
        (empty, {}),
        (empty.rotate(20, expand=True), {}),
    ]
    photos = []
    for picture, options in pictures:
        buffer = io.BytesIO()
        picture.save(buffer, format="JPEG", quality=90, **options)
        photos.append(buffer.getvalue())
    return photos
