"""The image store as an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, R2, Garage): ``s3://bucket/prefix``.

Keys are ``<prefix>/<task_id>/<image_id>.jpg``. boto3 signs and retries; region and credentials come
from the standard AWS chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``,
profiles, instance roles), ``S3_ENDPOINT_URL`` names a store that is not AWS. Uploads go from the
local temporary file, as one PUT or, above ``MULTIPART_BYTES``, as a multipart upload of parts that
size: memory stays bounded whatever the file. Every failure to reach the store, or a 5xx, becomes
``StoreUnavailable``; a missing key, FileNotFoundError.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from uuid import UUID

import boto3
import botocore.exceptions
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import S3Transfer, TransferConfig
from botocore.config import Config

from storage.errors import StoreUnavailable
from storage.store import ImageKey, ImageStore, StoredImage

# A JPEG above this goes up as a multipart upload, in parts of this size (S3's minimum part is 5 MiB).
MULTIPART_BYTES = 8 * 1024 * 1024
# S3's DeleteObjects takes at most 1,000 keys; keys it could not delete are tried again this often.
DELETE_BATCH = 1000
DELETE_TRIES = 3
# Seconds: connecting must be quick (a store that is down answers 503 fast); a read may be slow.
CONNECT_TIMEOUT_S = 3
READ_TIMEOUT_S = 30
_MISSING = {"404", "NoSuchKey", "NotFound"}


_FAILURES = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, S3UploadFailedError)


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """boto3's errors as the store's: a missing key stays FileNotFoundError, the rest is StoreUnavailable."""
    try:
        yield
    except _FAILURES as error:
        raise StoreUnavailable(f"the object store failed to {what}: {error}") from error


class S3Store(ImageStore):
    def __init__(self, url: str, endpoint_url: str | None = None, max_connections: int = 10) -> None:
        parts = urlsplit(url)
        self.bucket = parts.netloc
        self.prefix = f"{parts.path.strip('/')}/" if parts.path.strip("/") else ""
        self.endpoint_url = endpoint_url
        # Uploads are staged on this machine's temporary folder: nothing is written under STORAGE_DIR.
        super().__init__(Path(tempfile.gettempdir()) / "facetasks-incoming")
        config = Config(
            connect_timeout=CONNECT_TIMEOUT_S,
            read_timeout=READ_TIMEOUT_S,
            retries={"mode": "standard", "max_attempts": 3},
            max_pool_connections=max_connections,
            # A store of one's own is reached by path: virtual-host names need DNS for every bucket.
            s3={"addressing_style": "path"} if endpoint_url else None,
        )
        self.client = boto3.session.Session().client("s3", endpoint_url=endpoint_url, config=config)
        self._transfer = S3Transfer(
            client=self.client,
            config=TransferConfig(
                multipart_threshold=MULTIPART_BYTES, multipart_chunksize=MULTIPART_BYTES, max_concurrency=4
            ),
        )

    @property
    def where(self) -> str:
        at = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"s3://{self.bucket}/{self.prefix}{at}"

    def key(self, task_id: UUID | str, image_id: UUID | str) -> str:
        return f"{self.prefix}{task_id}/{image_id}.jpg"

    def _parse(self, key: str) -> ImageKey | None:
        task, _, name = key[len(self.prefix):].partition("/")
        try:
            return UUID(task), UUID(name.removesuffix(".jpg"))
        except ValueError:
            return None  # not an image of ours

    def keep(self, path: Path, task_id: UUID, image_id: UUID) -> None:
        key = self.key(task_id, image_id)
        with self._timed("keep"), _translated("store an image"):
            if path.stat().st_size > MULTIPART_BYTES:
                self._transfer.upload_file(str(path), self.bucket, key, extra_args={"ContentType": "image/jpeg"})
                return
            # One PUT from the open file: the transfer manager's threads and futures cost a third more CPU.
            with path.open("rb") as body:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="image/jpeg")

    def read(self, task_id: UUID, image_id: UUID) -> bytes:
        with self._timed("read"), _translated("read an image"):
            return self._get(task_id, image_id).stream.read()

    def open(self, task_id: UUID, image_id: UUID) -> StoredImage:
        with self._timed("open"), _translated("read an image"):
            return self._get(task_id, image_id)

    def _get(self, task_id: UUID, image_id: UUID) -> StoredImage:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.key(task_id, image_id))
        except botocore.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in _MISSING:
                raise FileNotFoundError(self.key(task_id, image_id)) from None
            raise
        return StoredImage(answer["Body"], answer["ContentLength"])

    def remove(self, task_id: UUID, image_id: UUID) -> None:
        self.remove_images([(task_id, image_id)])

    def remove_images(self, keys: Iterable[ImageKey]) -> None:
        self._delete([self.key(task_id, image_id) for task_id, image_id in keys])

    def remove_task(self, task_id: UUID) -> None:
        self._delete(key for key, _ in self._listed(f"{self.prefix}{task_id}/"))

    def _delete(self, keys: Iterable[str]) -> None:
        """Delete in batches of DELETE_BATCH; what a batch could not delete is tried again, then reported."""
        with self._timed("remove"), _translated("delete images"):
            batch: list[str] = []
            for key in keys:
                batch.append(key)
                if len(batch) == DELETE_BATCH:
                    self._delete_batch(batch)
                    batch = []
            if batch:
                self._delete_batch(batch)

    def _delete_batch(self, keys: list[str]) -> None:
        for attempt in range(DELETE_TRIES):
            answer = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True}
            )
            errors = answer.get("Errors", [])
            keys = [error["Key"] for error in errors]
            if not keys:
                return
            time.sleep(0.2 * 2**attempt)
        raise StoreUnavailable(f"the object store did not delete {len(keys)} images: {errors[0].get('Message')}")

    def task_ids(self) -> list[UUID]:
        with self._timed("list"), _translated("list tasks"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix, Delimiter="/"
            )
            ids = []
            for page in pages:
                for common in page.get("CommonPrefixes", []):
                    try:
                        ids.append(UUID(common["Prefix"][len(self.prefix):].rstrip("/")))
                    except ValueError:
                        continue
            return ids

    def images_older_than(self, seconds: float) -> Iterator[ImageKey]:
        cutoff = datetime.now(UTC) - timedelta(seconds=seconds)
        with self._timed("list"), _translated("list images"):
            for key, modified in self._listed(self.prefix):
                parsed = self._parse(key)
                if parsed and modified < cutoff:
                    yield parsed

    def _listed(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        with _translated("list images"):
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield item["Key"], item["LastModified"]

    def check(self) -> None:
        with self._timed("check"), _translated("answer"):
            self.client.head_bucket(Bucket=self.bucket)
