"""Image resources: upload one image (or an archive of them) into a task, page through its images, read one's bytes."""

from __future__ import annotations

from uuid import UUID

import falcon

from api.archives import Limits, archive_kind, nothing_kept, too_large_archive, unpack
from api.etag import not_modified
from api.jpeg_refusals import jpeg_refusal
from api.names import checked_name
from api.params import paging, status_filter
from api.uploads import copy_limited, receive
from representations import serialize
from storage.errors import ImageNotFound
from storage.reports import find_task, images_json, images_page
from storage.statuses import ImageStatus
from storage.store import ImageStore
from storage.tasks import add_image, add_images, find_image

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


class ImageCollection:
    def __init__(self, store: ImageStore, limits: Limits) -> None:
        self.store = store
        self.limits = limits

    def on_get(self, req: falcon.Request, resp: falcon.Response, task_id: UUID) -> None:
        status = status_filter(req, tuple(ImageStatus))
        page, page_size = paging(req, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        task = find_task(task_id)
        if not_modified(req, resp, task, images=True):
            return
        texts, total = images_page(task, status, page, page_size)
        resp.media = serialize.page(serialize.image_texts(texts), page, page_size, total)

    def on_post(self, req: falcon.Request, resp: falcon.Response, task_id: UUID) -> None:
        find_task(task_id)  # 404 before reading a body meant for nothing
        kind = archive_kind(req.content_type)
        if kind:
            self._add_archive(req, resp, task_id, kind)
            return
        with self.store.incoming() as incoming:
            given = receive(req, incoming, self.limits.image_bytes)
            name = checked_name(given, "The image name ('name' part, ?name= or the file's name)")
            if name is None:
                raise falcon.HTTPBadRequest(
                    title="Missing name", description="Give the image a name: a 'name' part, ?name=, or a file name."
                )
            refused = jpeg_refusal(incoming.path, self.limits.image_pixels)
            if refused:
                raise refused.error(title=refused.title, description=refused.description)
            image = add_image(self.store, incoming, task_id, name)
        resp.status = falcon.HTTP_201
        resp.location = f"/api/v1/tasks/{task_id}/images/{image.id}/file"
        resp.media = serialize.image_texts(images_json([image.id]))[0]


    def _add_archive(self, req: falcon.Request, resp: falcon.Response, task_id: UUID, kind: str) -> None:
        """201 with the images added and the members rejected; all or nothing (``api.archives``)."""
        limit = self.limits.archive_bytes
        if req.content_length is not None and req.content_length > limit:
            raise too_large_archive(limit)
        with self.store.incoming() as archive, self.store.incoming_folder() as folder:
            try:
                copy_limited(req.bounded_stream, archive, limit)
            except falcon.HTTPContentTooLarge:
                raise too_large_archive(limit) from None
            archive.file.flush()
            accepted, rejected = unpack(archive.path, kind, folder, self.limits)
            if not accepted:
                raise nothing_kept(rejected)
            images = add_images(self.store, task_id, accepted)
        resp.status = falcon.HTTP_201
        texts = images_json([image.id for image in images])
        resp.media = {"items": serialize.image_texts(texts), "rejected": [r._asdict() for r in rejected]}


class ImageFile:
    def __init__(self, store: ImageStore) -> None:
        self.store = store

    def on_get(self, req: falcon.Request, resp: falcon.Response, task_id: UUID, image_id: UUID) -> None:
        find_image(task_id, image_id)
        try:
            stored = self.store.open(task_id, image_id)
        except FileNotFoundError:
            raise ImageNotFound(image_id) from None  # deleted between the lookup and the read
        resp.content_type = "image/jpeg"
        resp.set_stream(stored.stream, stored.size)
