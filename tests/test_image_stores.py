"""The two image stores behave alike through their one interface: a folder, and an S3 bucket on a
real S3 server (moto's server mode) reached through a TCP proxy that can be cut."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from storage import objects
from storage.errors import StoreUnavailable
from storage.files import FileStore
from storage.objects import S3Store
from storage.store import ImageStore
from storage.stores import open_store
from tests.object_store import CREDENTIALS

BUCKET = "facetasks-store-tests"


@pytest.fixture(scope="module", autouse=True)
def bucket(s3) -> str:
    s3.client().create_bucket(Bucket=BUCKET)
    return BUCKET


@pytest.fixture
def aws(monkeypatch) -> None:
    """The standard AWS variables, which boto3 reads itself."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(params=["file", "s3"])
def store(request, tmp_path, aws, proxy) -> ImageStore:
    if request.param == "file":
        return open_store(f"file://{tmp_path}/images")
    return open_store(f"s3://{BUCKET}/{uuid.uuid4().hex}/images", proxy.url)


def upload(store: ImageStore, data: bytes, task_id: uuid.UUID, image_id: uuid.UUID) -> None:
    with store.incoming() as incoming:
        incoming.write(data)
        incoming.file.flush()
        store.keep(incoming.path, task_id, image_id)


def test_open_store_picks_the_implementation_by_the_urls_scheme(tmp_path, aws):
    assert type(open_store(f"file://{tmp_path}")) is FileStore
    assert open_store(f"file://{tmp_path}").root == tmp_path
    bucket = open_store("s3://bucket/a/b/", "http://127.0.0.1:1")
    assert type(bucket) is S3Store
    assert (bucket.bucket, bucket.key("t", "i")) == ("bucket", "a/b/t/i.jpg")
    assert open_store("s3://bucket", "http://127.0.0.1:1").key("t", "i") == "t/i.jpg"


def test_an_image_kept_reads_back_exact_by_bytes_and_as_a_stream_and_is_listed_under_its_task(store):
    task_id, image_id, data = uuid.uuid4(), uuid.uuid4(), os.urandom(300_000)
    upload(store, data, task_id, image_id)

    assert store.read(task_id, image_id) == data
    stored = store.open(task_id, image_id)
    with stored.stream as stream:
        assert (stream.read(), stored.size) == (data, len(data))
    assert store.task_ids() == [task_id]
    assert list(store.images_older_than(0)) == [(task_id, image_id)]
    assert list(store.images_older_than(3600)) == []


def test_a_missing_image_is_file_not_found_and_removing_it_again_is_harmless(store):
    task_id, image_id = uuid.uuid4(), uuid.uuid4()
    upload(store, b"\xff\xd8 a jpeg", task_id, image_id)

    store.remove(task_id, image_id)
    store.remove(task_id, image_id)

    with pytest.raises(FileNotFoundError):
        store.read(task_id, image_id)
    with pytest.raises(FileNotFoundError):
        store.open(task_id, image_id)


def test_removing_a_task_removes_all_its_images_in_batches_and_nothing_of_another_task(store, monkeypatch):
    monkeypatch.setattr(objects, "DELETE_BATCH", 3)  # several batches from a handful of images
    doomed, other = uuid.uuid4(), uuid.uuid4()
    images = [uuid.uuid4() for _ in range(7)]
    for image_id in images:
        upload(store, b"x" * 10, doomed, image_id)
    upload(store, b"y", other, images[0])

    store.remove_task(doomed)

    assert store.task_ids() == [other]
    assert store.read(other, images[0]) == b"y"


def test_an_upload_above_the_multipart_size_goes_up_in_parts_and_reads_back_exact(tmp_path, aws, s3, proxy):
    store = open_store(f"s3://{BUCKET}/multipart", proxy.url)
    task_id, image_id = uuid.uuid4(), uuid.uuid4()
    data = os.urandom(objects.MULTIPART_BYTES + 1024)

    upload(store, data, task_id, image_id)

    head = s3.client().head_object(Bucket=BUCKET, Key=store.key(task_id, image_id))
    assert head["ETag"].strip('"').endswith("-2")  # S3's mark of a two-part upload
    assert store.read(task_id, image_id) == data


def test_a_store_that_cannot_be_reached_raises_store_unavailable_and_counts_the_failure(aws, proxy):
    store = open_store(f"s3://{BUCKET}/down", proxy.url)
    seen: list[tuple[str, bool]] = []
    store.watch(lambda operation, seconds, failed: seen.append((operation, failed)))
    task_id, image_id = uuid.uuid4(), uuid.uuid4()

    with proxy.down():
        for call in (store.check, lambda: store.read(task_id, image_id), store.task_ids):
            started = time.monotonic()
            with pytest.raises(StoreUnavailable, match="the object store failed to"):
                call()
            assert time.monotonic() - started < objects.CONNECT_TIMEOUT_S  # refused: answered at once
        with pytest.raises(StoreUnavailable):
            upload(store, b"jpeg", task_id, image_id)

    store.check()
    assert seen == [("check", True), ("read", True), ("list", True), ("keep", True), ("check", False)]


def test_a_folder_store_that_cannot_be_written_is_unavailable(tmp_path: Path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(StoreUnavailable, match="cannot be created"):
        FileStore(tmp_path / "file" / "images").check()
