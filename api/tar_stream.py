"""A TAR archive (plain, gzip, bzip2 or xz) read as a stream of members, every byte counted.

``tarfile`` reads a pax record or a GNU long name whole into memory before anything can look at
its size, and its gzip reader inflates whatever follows the archive. Here the 512-byte headers are
walked one at a time (``tarfile.TarInfo.frombuf`` parses each), an extended header (pax, global pax,
GNU long name or link) over ``HEADER_LIMIT`` bytes is refused before it is read, and every byte
inflated (member data, padding, headers) counts against the unpacked limit as it is produced.
Reading stops at the end-of-archive marker: only the rest of the compressed stream holding it is
read (its checksum is how a cut-short gzip is found), never a further stream appended after it.
"""

from __future__ import annotations

import bz2
import io
import lzma
import tarfile
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO, NamedTuple, Protocol

BLOCK = 512
# A pax record or GNU long name names one photo: a path over 4 KiB is not a photo's name.
HEADER_LIMIT = 4096
_CHUNK = 64 * 1024
_ZERO_BLOCK = bytes(BLOCK)
_EXTENDED = {tarfile.XHDTYPE: "pax", tarfile.SOLARIS_XHDTYPE: "pax", tarfile.XGLTYPE: "global pax",
             tarfile.GNUTYPE_LONGNAME: "GNU long name", tarfile.GNUTYPE_LONGLINK: "GNU long link"}


class DamagedArchive(Exception):
    """The archive cannot be read to its end: cut short, a bad header or a bad compressed stream."""


class UnpackedTooLarge(Exception):
    """The archive unpacks to more than its limit."""


class HeaderTooLarge(Exception):
    """An extended header (pax or GNU long name) is longer than ``HEADER_LIMIT``."""


class Member(NamedTuple):
    name: str
    size: int
    is_file: bool
    is_link: bool
    # Why a file member cannot be read as one (an old GNU sparse file), or None.
    unreadable: str | None = None


class _Decompressor(Protocol):
    eof: bool
    needs_input: bool
    unused_data: bytes

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


class _Gzip:
    """zlib's gzip decompressor with the interface of bz2's and lzma's (``needs_input``)."""

    def __init__(self) -> None:
        self._zlib = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        self._full = False

    @property
    def eof(self) -> bool:
        return self._zlib.eof

    @property
    def unused_data(self) -> bytes:
        return self._zlib.unused_data

    @property
    def needs_input(self) -> bool:
        # Output cut at max_length may leave some behind in zlib even when all the input was taken.
        return not self._zlib.unconsumed_tail and not self._full

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        out = self._zlib.decompress(self._zlib.unconsumed_tail + data, max_length)
        self._full = len(out) == max_length
        return out


class _Plain:
    """An uncompressed archive, through the same interface."""

    eof = False
    needs_input = True
    unused_data = b""

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        return data


def _decompressor_for(head: bytes) -> Callable[[], _Decompressor]:
    if head.startswith(b"\x1f\x8b"):
        return _Gzip
    if head.startswith(b"BZh"):
        return bz2.BZ2Decompressor
    if head.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMADecompressor
    return _Plain


class _Unpacked:
    """The decompressed bytes of ``raw``; producing more than ``max_bytes`` raises ``UnpackedTooLarge``."""

    def __init__(self, raw: BinaryIO, max_bytes: int) -> None:
        head = raw.read(6)
        raw.seek(0)
        self._new = _decompressor_for(head)
        self._decompressor = self._new()
        self._raw = raw
        self._max_bytes = max_bytes
        self._produced = 0
        self._buffer = bytearray()

    def read(self, size: int) -> bytes:
        """``size`` bytes, fewer only at the end of the data."""
        while len(self._buffer) < size and self._fill():
            pass
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out

    def finish(self) -> None:
        """Read the rest of the compressed stream holding what was read (counted), to check it whole."""
        self._buffer.clear()
        while not self._decompressor.eof and self._fill():
            self._buffer.clear()

    def _fill(self) -> bool:
        """More decompressed bytes into the buffer; False at the end of the data."""
        decompressor = self._decompressor
        if decompressor.eof:  # a stream ended inside the archive: the archive goes on in a next one
            data = decompressor.unused_data or self._raw.read(_CHUNK)
            if not data:
                return False
            decompressor = self._decompressor = self._new()
        elif decompressor.needs_input:
            data = self._raw.read(_CHUNK)
            if not data:
                if isinstance(decompressor, _Plain):
                    return False
                raise DamagedArchive("the compressed stream is cut short")
        else:
            data = b""
        try:
            out = decompressor.decompress(data, _CHUNK)
        except (zlib.error, lzma.LZMAError, OSError, EOFError) as error:
            raise DamagedArchive(f"bad compressed data: {error}") from None
        self._produced += len(out)
        if self._produced > self._max_bytes:
            raise UnpackedTooLarge
        self._buffer += out
        return True

    def exactly(self, size: int) -> bytes:
        data = self.read(size)
        if len(data) != size:
            raise DamagedArchive("the archive is cut short")
        return data

    def skip(self, size: int) -> None:
        while size > 0:
            size -= len(self.exactly(min(size, _CHUNK)))


class _MemberData(io.RawIOBase):
    """A member's bytes, read from the archive's stream as they are asked for."""

    def __init__(self, stream: _Unpacked, size: int) -> None:
        self._stream = stream
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._stream.exactly(min(len(buffer), self.left))
        buffer[: len(data)] = data
        self.left -= len(data)
        return len(data)


def _padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _pax_records(data: bytes) -> dict[str, str]:
    """The ``"<length> <key>=<value>\\n"`` records of a pax header."""
    records: dict[str, str] = {}
    start = 0
    while start < len(data):
        space = data.find(b" ", start)
        length = int(data[start:space]) if space > start and data[start:space].isdigit() else 0
        end = start + length
        if length <= space - start or end > len(data) or data[end - 1 : end] != b"\n":
            raise DamagedArchive("a bad pax record")
        key, equals, value = data[space + 1 : end - 1].partition(b"=")
        if not equals:
            raise DamagedArchive("a bad pax record")
        records[_text(key)] = _text(value)
        start = end
    return records


def _size(records: dict[str, str], header_size: int) -> int:
    if "size" not in records:
        return header_size
    if not records["size"].isdigit():
        raise DamagedArchive("a bad size in a pax record")
    return int(records["size"])


def tar_members(raw: BinaryIO, max_bytes: int) -> Iterator[tuple[Member, BinaryIO]]:
    """Each member of the TAR in ``raw`` with a reader of its data, in archive order. What the caller
    leaves unread of a member is skipped (and counted) before the next one is read."""
    stream = _Unpacked(raw, max_bytes)
    extended: dict[str, str] = {}
    while (block := stream.exactly(BLOCK)) != _ZERO_BLOCK:
        try:
            info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
        except tarfile.HeaderError as error:
            raise DamagedArchive(f"a bad member header: {error}") from None
        if info.type in _EXTENDED:
            if info.size > HEADER_LIMIT:
                raise HeaderTooLarge(f"a {_EXTENDED[info.type]} header of {info.size} bytes")
            data = stream.exactly(_padded(info.size))[: info.size]
            if info.type == tarfile.GNUTYPE_LONGNAME:
                extended["path"] = _text(data.split(b"\0", 1)[0])
            elif info.type == tarfile.GNUTYPE_LONGLINK:
                extended["linkpath"] = _text(data.split(b"\0", 1)[0])
            elif info.type != tarfile.XGLTYPE:  # a global header sets defaults no photo needs
                extended.update(_pax_records(data))
            continue
        unreadable = None
        if info.type == tarfile.GNUTYPE_SPARSE:
            unreadable = "Sparse files are not read."
            more = block[482]  # "isextended": a block of the sparse map follows (its own flag at 504)
            while more:
                more = stream.exactly(BLOCK)[504]
        size = _size(extended, info.size)
        has_data = info.isreg() or info.type not in tarfile.SUPPORTED_TYPES
        member = Member(extended.get("path", info.name), size if has_data else 0, info.isreg(),
                        info.issym() or info.islnk(), unreadable)
        extended = {}
        data_reader = _MemberData(stream, member.size)
        yield member, data_reader
        stream.skip(data_reader.left + _padded(member.size) - member.size)
    stream.finish()
