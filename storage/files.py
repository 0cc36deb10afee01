"""Image files under one root directory: ``<root>/<task_id>/<image_id>.jpg``.

Files are written to ``<root>/.incoming`` first and renamed into place, so a reader
never sees a half-written image and a crash leaves at most a stray temporary file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from uuid import UUID


@dataclass
class Incoming:
    """A temporary file being written; ``size`` counts the bytes written so far."""

    file: BinaryIO
    path: Path
    size: int = 0

    def write(self, chunk: bytes) -> None:
        self.file.write(chunk)
        self.size += len(chunk)


class ImageStore:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self._incoming = self.root / ".incoming"

    def path(self, task_id: UUID | str, image_id: UUID | str) -> Path:
        return self.root / str(task_id) / f"{image_id}.jpg"

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

    def keep(self, path: Path, task_id: UUID | str, image_id: UUID | str) -> Path:
        """Move a finished upload at ``path`` (under the incoming folder) to its final place.

        Synced first, then renamed: atomic on one filesystem, and never a half-written image.
        """
        with path.open("rb") as file:
            os.fsync(file.fileno())
        final = self.path(task_id, image_id)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, final)
        return final

    def read(self, task_id: UUID | str, image_id: UUID | str) -> bytes:
        return self.path(task_id, image_id).read_bytes()

    def remove(self, task_id: UUID | str, image_id: UUID | str) -> None:
        self.path(task_id, image_id).unlink(missing_ok=True)

    def remove_task(self, task_id: UUID | str) -> None:
        shutil.rmtree(self.root / str(task_id), ignore_errors=True)

    def task_ids(self) -> list[UUID]:
        """Tasks that have a folder of images on disk."""
        ids = []
        for entry in self.root.iterdir() if self.root.exists() else ():
            try:
                ids.append(UUID(entry.name))
            except ValueError:
                continue  # .incoming, or anything an operator put there
        return ids

    def remove_stray_uploads(self, older_than_s: float) -> None:
        """Delete temporary upload files and archive folders left by requests that died mid-upload."""
        cutoff = time.time() - older_than_s
        for path in self._incoming.iterdir() if self._incoming.exists() else ():
            if path.stat().st_mtime >= cutoff:
                continue
            if path.suffix == ".part":
                path.unlink(missing_ok=True)
            elif path.suffix == ".batch":
                shutil.rmtree(path, ignore_errors=True)
