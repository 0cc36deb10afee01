"""Finding the photos to analyse and packing them into ZIP archives, a few hundred per upload."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

EXTENSIONS = (".jpg", ".jpeg", ".jpe")
# Files per archive request: few requests, each a few hundred MB at most with camera photos.
BATCH = 200


def find_photos(paths: Sequence[Path]) -> list[tuple[Path, str]]:
    """(file, name) of every JPEG under ``paths`` (recursively), sorted; the name is the path below
    the folder given, or the file's own name for a file given. Hidden files and folders are skipped."""
    found: list[tuple[Path, str]] = []
    for root in paths:
        if root.is_file():
            found.append((root, root.name))
            continue
        for file in sorted(root.rglob("*")):
            relative = file.relative_to(root)
            hidden = any(part.startswith(".") for part in relative.parts)
            if file.is_file() and not hidden and file.suffix.lower() in EXTENSIONS:
                found.append((file, relative.as_posix()))
    return found


def batches(photos: list[tuple[Path, str]], size: int = BATCH) -> list[list[tuple[Path, str]]]:
    return [photos[start : start + size] for start in range(0, len(photos), size)]


@contextmanager
def zipped(batch: list[tuple[Path, str]]) -> Iterator[BinaryIO]:
    """The batch as a ZIP in a temporary file (stored: JPEGs do not compress), open for reading."""
    with tempfile.TemporaryFile() as archive:
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as writer:
            for file, name in batch:
                writer.write(file, name)
        archive.seek(0)
        yield archive
