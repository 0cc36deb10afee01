"""Archive uploads: a ZIP or a TAR (optionally gzip) of JPEGs, added to a task in one request.

Every JPEG member becomes an image named by its path in the archive; every other member (a
directory, a link, a hidden file such as ``__MACOSX/…`` or ``.DS_Store``, anything that is not a
JPEG, too large, or badly named) is reported in ``rejected`` and skipped (``api.member_names`` says
which members are hidden and how a member's path becomes a name). Limits, all answered before
anything is added:

* the archive itself: ``MAX_ARCHIVE_BYTES`` (413), streamed to a temporary file, never into memory;
* what it unpacks to: ``MAX_ARCHIVE_BYTES`` again (413; JPEGs barely compress, so a real archive of
  photos unpacks to about its own size) and ``MAX_MEMBERS`` members (413; for a ZIP counted before
  ``zipfile`` reads its directory, ``api.zip_directory``);
* a ZIP member that claims to expand more than ``BOMB_RATIO`` times: a zip bomb (422);
* a TAR member header (pax, GNU long name) over ``tar_stream.HEADER_LIMIT`` bytes: 413, refused
  before it is read (``api.tar_stream`` counts every byte it inflates, and stops at the end of the
  archive);
* a damaged or truncated archive, or a compressed stream that does not decompress: 422, and none of
  its images is kept (all or nothing);
* an archive none of whose members is a JPEG that can be added: 422 naming the first few rejected;
* a ZIP member that is encrypted or compressed by a method Python cannot read (Deflate64, AES, …):
  rejected, not fatal;
* each member: ``MAX_IMAGE_BYTES``, ``MAX_IMAGE_PIXELS`` and the JPEG check, as a single upload
  (rejected, not fatal).
An archive inside the archive is not opened: it is "not a JPEG".
"""

from __future__ import annotations

import lzma
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, NamedTuple

import falcon

from api.jpeg_refusals import jpeg_refusal
from api.member_names import hidden, image_name
from api.names import name_problem
from api.tar_stream import HEADER_LIMIT, DamagedArchive, HeaderTooLarge, UnpackedTooLarge, tar_members
from api.zip_directory import member_count

ARCHIVE_TYPES = {
    "application/zip": "zip",
    "application/x-zip-compressed": "zip",
    "application/x-tar": "tar",
    "application/gzip": "tar",
    "application/x-gzip": "tar",
    "application/x-gtar": "tar",
    "application/x-compressed-tar": "tar",
}
MAX_MEMBERS = 10_000
# A JPEG compresses by a few percent; a member claiming a hundredfold is built to explode.
BOMB_RATIO = 100
_BOMB_MIN_BYTES = 1024 * 1024
_CHUNK = 64 * 1024
# Raised while a member is read: its stored bytes do not decompress, or do not match their checksum.
_READ_DAMAGE = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError)
_DAMAGE = (zipfile.BadZipFile, DamagedArchive)
_ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}


class Limits(NamedTuple):
    """Upload limits: bytes and pixels of an image, bytes of an archive (and what it unpacks to)."""

    image_bytes: int
    image_pixels: int
    archive_bytes: int


class Rejected(NamedTuple):
    name: str
    title: str
    description: str


class Accepted(NamedTuple):
    path: Path
    size: int
    name: str


def archive_kind(content_type: str | None) -> str | None:
    """``zip`` or ``tar`` for an archive's media type, None for anything else."""
    return ARCHIVE_TYPES.get((content_type or "").split(";")[0].strip().lower())


def unpack(archive: Path, kind: str, folder: Path, limits: Limits) -> tuple[list[Accepted], list[Rejected]]:
    """The JPEG members of ``archive`` written into ``folder``, and the members rejected, in archive order."""
    max_bytes = limits.archive_bytes
    accepted: list[Accepted] = []
    rejected: list[Rejected] = []
    try:
        members = _zip_members(archive, max_bytes) if kind == "zip" else _tar_members(archive, max_bytes)
        for name, source in members:
            if isinstance(source, Rejected):
                rejected.append(source)
                continue
            outcome = _write_member(image_name(name), source, folder / f"{len(accepted)}.jpg", limits)
            (accepted if isinstance(outcome, Accepted) else rejected).append(outcome)
    except _DAMAGE as error:
        raise falcon.HTTPUnprocessableEntity(
            title="Damaged archive",
            description=f"The archive is damaged or truncated ({error}); none of its images was added.",
        ) from None
    except UnpackedTooLarge:
        raise _too_big(max_bytes, "An archive may unpack to") from None
    except HeaderTooLarge as error:
        raise falcon.HTTPContentTooLarge(
            title="Archive header too large",
            description=f"A member's extended header (pax or GNU long name) may be at most {HEADER_LIMIT} bytes; "
            f"this archive has {error}. None of its images was added.",
        ) from None
    return accepted, rejected


def _write_member(name: str, source: BinaryIO, path: Path, limits: Limits) -> Accepted | Rejected:
    problem = name_problem(name)
    if problem:
        return Rejected(name[:255], "Invalid name", f"The member's path, the image's name, {problem}.")
    size = 0
    with source, path.open("wb") as target:
        while chunk := _read(source):
            size += len(chunk)
            if size > limits.image_bytes:
                return Rejected(name, "Image too large", f"An image may be at most {limits.image_bytes} bytes.")
            target.write(chunk)
    refused = jpeg_refusal(path, limits.image_pixels)
    if refused:
        return Rejected(name, refused.title, refused.description)
    return Accepted(path, size, name)


def _read(source: BinaryIO) -> bytes:
    try:
        return source.read(_CHUNK)
    except _READ_DAMAGE as error:  # OSError: bz2's word for bad data; the writing side is outside this try
        raise DamagedArchive(f"a member does not decompress: {error}") from None


def _skip(name: str, is_file: bool, is_link: bool) -> Rejected | None:
    if is_link:
        return Rejected(name, "Not a file", "Links are not followed.")
    if not is_file:
        return Rejected(name, "Not a file", "Directories and special files are skipped.")
    if hidden(name):
        return Rejected(name, "Hidden file", "Hidden files and folders (such as __MACOSX) are skipped.")
    return None


def _too_big(max_bytes: int, what: str) -> falcon.HTTPError:
    return falcon.HTTPContentTooLarge(title="Archive too large", description=f"{what} at most {max_bytes} bytes.")


def _too_many() -> falcon.HTTPError:
    return falcon.HTTPContentTooLarge(
        title="Archive too large", description=f"An archive may hold at most {MAX_MEMBERS} members."
    )


def _zip_members(archive: Path, max_bytes: int) -> Iterator[tuple[str, BinaryIO | Rejected]]:
    with archive.open("rb") as raw:
        if member_count(raw, MAX_MEMBERS) > MAX_MEMBERS:  # before zipfile makes an object of each
            raise _too_many()
    with zipfile.ZipFile(archive) as zip_file:
        infos = zip_file.infolist()
        if len(infos) > MAX_MEMBERS:
            raise _too_many()
        if sum(info.file_size for info in infos) > max_bytes:
            raise _too_big(max_bytes, "An archive may unpack to")
        for info in infos:
            if info.file_size > _BOMB_MIN_BYTES and info.file_size > BOMB_RATIO * max(info.compress_size, 1):
                raise falcon.HTTPUnprocessableEntity(
                    title="Zip bomb",
                    description=f"{info.filename} claims to expand {info.file_size // max(info.compress_size, 1)} "
                    f"times; nothing was added.",
                )
            is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
            skipped = _skip(info.filename, not info.is_dir(), is_link) or _unreadable_zip_member(info)
            yield info.filename, skipped or zip_file.open(info)


def _unreadable_zip_member(info: zipfile.ZipInfo) -> Rejected | None:
    if info.flag_bits & 0x1:  # AES-encrypted members set this bit too
        return Rejected(info.filename, "Encrypted", "Encrypted members cannot be read; add the photo unencrypted.")
    if info.compress_type not in _ZIP_METHODS:
        return Rejected(info.filename, "Unsupported compression",
                        f"Compression method {info.compress_type} (such as Deflate64) cannot be read; "
                        f"store the photo, or compress it with Deflate.")
    return None


def _tar_members(archive: Path, max_bytes: int) -> Iterator[tuple[str, BinaryIO | Rejected]]:
    declared = 0
    with archive.open("rb") as raw:
        for count, (member, data) in enumerate(tar_members(raw, max_bytes), 1):
            if count > MAX_MEMBERS:
                raise _too_many()
            declared += member.size  # refused before the bytes are inflated, when the headers say so
            if declared > max_bytes:
                raise UnpackedTooLarge
            skipped = _skip(member.name, member.is_file, member.is_link)
            if not skipped and member.unreadable:
                skipped = Rejected(member.name, "Not a file", member.unreadable)
            yield member.name, skipped or data


def too_large_archive(max_bytes: int) -> falcon.HTTPError:
    return _too_big(max_bytes, "An archive may be")


def nothing_kept(rejected: list[Rejected]) -> falcon.HTTPError:
    """422 for an archive none of whose members became an image: an upload that adds nothing is a mistake
    (a wrong folder, a wrong format), and a 201 with no items was too easy to miss."""
    files = [r for r in rejected if r.title != "Not a file"] or rejected
    examples = "; ".join(f"{r.name}: {r.title}" for r in files[:3]) + ("; …" if len(files) > 3 else "")
    found = f"{len(rejected)} members, none a JPEG that could be added ({examples})" if rejected else "no members"
    return falcon.HTTPUnprocessableEntity(
        title="No JPEG in the archive", description=f"The archive holds {found}; nothing was added."
    )
