"""The image store named by ``STORAGE_URL``: ``file:///abs/path`` or ``s3://bucket/optional/prefix``."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from storage.store import ImageStore


def open_store(url: str, endpoint_url: str | None = None, max_connections: int = 10) -> ImageStore:
    """The store for ``url``; ``endpoint_url`` for an S3-compatible store that is not AWS. Connects lazily."""
    parts = urlsplit(url)
    if parts.scheme == "s3":
        from storage.objects import S3Store  # boto3 is loaded only by those who use it

        return S3Store(url, endpoint_url, max_connections)
    from storage.files import FileStore

    return FileStore(unquote(parts.path))
