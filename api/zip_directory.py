"""How many members a ZIP's central directory lists, counted before ``zipfile`` reads it.

``zipfile.ZipFile`` turns every central directory record into a ``ZipInfo`` before anyone can ask how
many there are; records are 46 bytes and may all point at one member, so a 47 MB upload asks for a
million objects (about 500 MB and 8 s here), a 1 GiB one for twenty times that. Here the records are
only counted, from their fixed-size headers, and the counting stops past the limit.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

_END = b"PK\x05\x06"
_END_SIZE = 22
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_END = b"PK\x06\x06"
_RECORD = b"PK\x01\x02"
_RECORD_SIZE = 46
# The end record is followed by a comment of at most 65,535 bytes.
_TAIL = _END_SIZE + 0xFFFF


def _directory(raw: BinaryIO) -> tuple[int, int] | None:
    """(offset, size) of the central directory, or None when the end records cannot be found."""
    size = raw.seek(0, 2)
    raw.seek(max(0, size - _TAIL))
    tail = raw.read()
    at = tail.rfind(_END)
    if at < 0 or len(tail) - at < _END_SIZE:
        return None
    end = size - len(tail) + at
    (directory_size,) = struct.unpack("<L", tail[at + 12 : at + 16])
    locator = tail[at - 20 : at] if at >= 20 else b""
    if locator.startswith(_ZIP64_LOCATOR):
        (zip64_end,) = struct.unpack("<Q", locator[8:16])
        raw.seek(zip64_end)
        record = raw.read(56)
        if not record.startswith(_ZIP64_END) or len(record) < 56:
            return None
        (directory_size,) = struct.unpack("<Q", record[40:48])
        end = zip64_end
    # The directory ends where the end record begins: as zipfile reckons, so that bytes before the archive
    # (a self-extractor's stub) shift nothing.
    return end - directory_size, directory_size


def member_count(raw: BinaryIO, most: int) -> int:
    """The members the central directory lists, counting no further than ``most + 1``; what is not a
    readable directory counts as far as it goes (zipfile then says what is wrong with it)."""
    found = _directory(raw)
    if found is None:
        return 0
    offset, left = found
    raw.seek(max(offset, 0))
    count = 0
    while left >= _RECORD_SIZE and count <= most:
        header = raw.read(_RECORD_SIZE)
        if len(header) < _RECORD_SIZE or not header.startswith(_RECORD):
            break
        name, extra, comment = struct.unpack("<HHH", header[28:34])
        raw.seek(name + extra + comment, 1)
        left -= _RECORD_SIZE + name + extra + comment
        count += 1
    return count
