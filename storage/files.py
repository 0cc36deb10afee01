"""The image store as a folder on this machine: ``<root>/<task_id>/<image_id>.jpg``.

Files are written to ``<root>/.incoming`` first and renamed into place, so a reader
never sees a half-written image and a crash leaves at most a stray temporary file.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from uuid import UUID

from storage.errors import StoreUnavailable
from storage.store import ImageKey, ImageStore, StoredImage


class FileStore(ImageStore):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        super().__init__(self.root / ".incoming")

    @property
    def where(self) -> str:
        return str(self.root)

    def path(self, task_id: UUID | str, image_id: UUID | str) -> Path:
        return self.root / str(task_id) / f"{image_id}.jpg"

    def keep(self, path: Path, task_id: UUID, image_id: UUID) -> None:
        """Synced first, then renamed: atomic on one filesystem, and never a half-written image."""
        with self._timed("keep"):
            with path.open("rb") as file:
                os.fsync(file.fileno())
            final = self.path(task_id, image_id)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, final)

    def read(self, task_id: UUID, image_id: UUID) -> bytes:
        with self._timed("read"):
            return self.path(task_id, image_id).read_bytes()

    def open(self, task_id: UUID, image_id: UUID) -> StoredImage:
        # Opened once: a delete racing the reader removes the name, not the open file.
        with self._timed("open"):
            file = self.path(task_id, image_id).open("rb")
            return StoredImage(file, os.fstat(file.fileno()).st_size)

    def remove(self, task_id: UUID, image_id: UUID) -> None:
        self.path(task_id, image_id).unlink(missing_ok=True)

    def remove_images(self, keys: Iterable[ImageKey]) -> None:
        with self._timed("remove"):
            for task_id, image_id in keys:
                self.remove(task_id, image_id)

    def remove_task(self, task_id: UUID) -> None:
        with self._timed("remove"):
            shutil.rmtree(self.root / str(task_id), ignore_errors=True)

    def task_ids(self) -> list[UUID]:
        return [task_id for task_id, _ in self._task_folders()]

    def images_older_than(self, seconds: float) -> Iterator[ImageKey]:
        cutoff = time.time() - seconds
        for task_id, folder in self._task_folders():
            for path in folder.glob("*.jpg"):
                try:
                    image_id = UUID(path.stem)
                    if path.stat().st_mtime < cutoff:
                        yield task_id, image_id
                except (ValueError, FileNotFoundError):
                    continue  # not an image of ours, or deleted meanwhile

    def _task_folders(self) -> list[tuple[UUID, Path]]:
        folders = []
        for entry in self.root.iterdir() if self.root.exists() else ():
            try:
                folders.append((UUID(entry.name), entry))
            except ValueError:
                continue  # .incoming, or anything an operator put there
        return folders

    def check(self) -> None:
        with self._timed("check"):
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise StoreUnavailable(f"the image folder {self.root} cannot be created: {error}") from None
            if not os.access(self.root, os.W_OK | os.X_OK):
                raise StoreUnavailable(f"the image folder {self.root} is not writable")
