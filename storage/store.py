"""The image store's interface: where the bytes of every image live, whatever holds them.

Two implementations, chosen by ``STORAGE_URL`` (``storage.stores.open_store``): a folder on
this machine (``storage.files``) or an S3-compatible bucket (``storage.objects``). Nothing
outside ``storage`` knows which one it was handed.

Uploads are streamed into a local temporary file first (the JPEG check reads it by its path),
then kept: moved into place, or sent to the bucket (multipart above a size). An image is kept
before its row commits, so a row never points at a missing object; a request that dies in
between leaves an object no row names, which housekeeping removes after a grace period.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from uuid import UUID

from storage.errors import StoreUnavailable

# (operation, seconds it took, whether it failed): how a store reports each call it makes.
Observer = Callable[[str, float, bool], None]
ImageKey = tuple[UUID, UUID]  # (task id, image id)


@dataclass
class Incoming:
    """A temporary file being written; ``size`` counts the bytes written so far."""

    file: BinaryIO
    path: Path
    size: int = 0

    def write(self, chunk: bytes) -> None:
        self.file.write(chunk)
        self.size += len(chunk)


@dataclass
class StoredImage:
    """An image's bytes as a stream (closed by whoever reads it) and its length."""

    stream: BinaryIO
    size: int


class ImageStore(ABC):
    """Image bytes by (task id, image id); missing ones raise FileNotFoundError, an unreachable
    store ``StoreUnavailable``."""

    def __init__(self, incoming_dir: Path) -> None:
        self._incoming = incoming_dir
        self._observer: Observer | None = None

    def watch(self, observer: Observer) -> None:
        """Report every call to the store to ``observer`` (metrics)."""
        self._observer = observer

    @contextmanager
    def _timed(self, operation: str) -> Iterator[None]:
        started = time.perf_counter()
        failed = False
        try:
            yield
        except StoreUnavailable:
            failed = True
            raise
        finally:
            if self._observer:
                self._observer(operation, time.perf_counter() - started, failed)

    @contextmanager
    def incoming(self) -> Iterator[Incoming]:
        """A temporary file to stream an upload into; removed on exit unless kept."""
        self._incoming.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self._incoming, suffix=".part")
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as file:
                yield Incoming(file, path)
        finally:
            path.unlink(missing_ok=True)

    @contextmanager
    def incoming_folder(self) -> Iterator[Path]:
        """A temporary folder for the images of one archive; removed on exit with what was not kept."""
        self._incoming.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(dir=self._incoming, suffix=".batch"))
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def remove_stray_uploads(self, older_than_s: float) -> None:
        """Delete temporary upload files and archive folders left by requests that died mid-upload."""
        cutoff = time.time() - older_than_s
        for path in self._incoming.iterdir() if self._incoming.exists() else ():
            try:
                if path.stat().st_mtime >= cutoff:
                    continue
            except FileNotFoundError:
                continue
            if path.suffix == ".part":
                path.unlink(missing_ok=True)
            elif path.suffix == ".batch":
                shutil.rmtree(path, ignore_errors=True)

    @abstractmethod
    def keep(self, path: Path, task_id: UUID, image_id: UUID) -> None:
        """Store the finished upload at ``path`` as this image; durable when it returns."""

    @abstractmethod
    def read(self, task_id: UUID, image_id: UUID) -> bytes:
        """The image's bytes (at most an upload's size limit)."""

    @abstractmethod
    def open(self, task_id: UUID, image_id: UUID) -> StoredImage:
        """The image as a stream, for answering it without holding it in memory."""

    @abstractmethod
    def remove(self, task_id: UUID, image_id: UUID) -> None:
        """Delete one image; nothing happens if it is gone already."""

    @abstractmethod
    def remove_images(self, keys: Iterable[ImageKey]) -> None:
        """Delete these images, in batches; raises StoreUnavailable if some could not be deleted."""

    @abstractmethod
    def remove_task(self, task_id: UUID) -> None:
        """Delete every image of a task; raises StoreUnavailable if some could not be deleted."""

    @abstractmethod
    def task_ids(self) -> list[UUID]:
        """The tasks that have images in the store."""

    @abstractmethod
    def images_older_than(self, seconds: float) -> Iterator[ImageKey]:
        """Every image kept more than ``seconds`` ago (for the orphan sweep)."""

    @abstractmethod
    def check(self) -> None:
        """One cheap call; raises StoreUnavailable unless the store answers."""

    @property
    @abstractmethod
    def where(self) -> str:
        """Where the images are, for logs: a folder or a bucket."""
