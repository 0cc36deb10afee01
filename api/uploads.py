"""Reading one uploaded image into the store's incoming file, streamed and size-limited.

Two ways in: ``multipart/form-data`` with a ``file`` part and an optional ``name`` part,
or the raw bytes as the body with ``?name=``. The declared type of the bytes is not
trusted: the content is checked afterwards (``storage.jpeg``).
"""

from __future__ import annotations

import ntpath
import posixpath
from typing import BinaryIO

import falcon

from storage.store import Incoming

CHUNK_BYTES = 64 * 1024
# Room for the multipart boundaries, part headers and a name around the file itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def too_large(max_bytes: int) -> falcon.HTTPError:
    return falcon.HTTPContentTooLarge(
        title="Image too large", description=f"An image may be at most {max_bytes} bytes."
    )


def copy_limited(source: BinaryIO, incoming: Incoming, max_bytes: int) -> None:
    """Copy ``source`` into ``incoming``; 413 as soon as it passes ``max_bytes``."""
    while chunk := source.read(CHUNK_BYTES):
        incoming.write(chunk)
        if incoming.size > max_bytes:
            raise too_large(max_bytes)


def _base_name(filename: str | None) -> str | None:
    """The file's own name: browsers on Windows may send a whole path."""
    if not filename:
        return None
    return ntpath.basename(posixpath.basename(filename)) or None


def receive(req: falcon.Request, incoming: Incoming, max_bytes: int) -> str | None:
    """Stream the image of ``req`` into ``incoming``; return the name the client gave.

    The name is the ``name`` part or ``?name=``, else the uploaded file's name; None
    when the client gave none. Raises 400 for a malformed request, 413 when too large.
    """
    limit = max_bytes + (MULTIPART_OVERHEAD_BYTES if _is_multipart(req) else 0)
    if req.content_length is not None and req.content_length > limit:
        raise too_large(max_bytes)
    if _is_multipart(req):
        name = _receive_multipart(req, incoming, max_bytes)
    else:
        copy_limited(req.bounded_stream, incoming, max_bytes)
        name = req.get_param("name")
    if incoming.size == 0:
        raise falcon.HTTPBadRequest(title="Empty image", description="The uploaded image has no bytes.")
    incoming.file.flush()  # the content check reads the file by its path
    return name


def _is_multipart(req: falcon.Request) -> bool:
    return (req.content_type or "").lower().startswith(falcon.MEDIA_MULTIPART)


def _receive_multipart(req: falcon.Request, incoming: Incoming, max_bytes: int) -> str | None:
    if not req.content_length:  # Falcon's parser needs a length; without a body there is no file anyway
        raise _missing_file()
    try:
        return _read_parts(req, incoming, max_bytes)
    except UnicodeDecodeError:
        # Falcon decodes part headers lazily and lets a bad byte escape as this error.
        raise falcon.HTTPBadRequest(
            title="Malformed multipart/form-data request media", description="A part's headers are not valid text."
        ) from None


def _read_parts(req: falcon.Request, incoming: Incoming, max_bytes: int) -> str | None:
    got_file = False
    filename = name = None
    for part in req.get_media():
        if part.name == "file":
            if got_file:
                raise falcon.HTTPBadRequest(title="Too many files", description="Send one 'file' part per request.")
            got_file = True
            filename = _base_name(part.filename)
            copy_limited(part.stream, incoming, max_bytes)
        elif part.name == "name":
            name = part.get_text()
        # Other parts are skipped: the parser drains each part before the next one.
    if not got_file:
        raise _missing_file()
    return name if name is not None else filename


def _missing_file() -> falcon.HTTPError:
    return falcon.HTTPBadRequest(
        title="Missing file", description="The multipart body needs a part named 'file' holding the image."
    )
