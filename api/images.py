"""Image resources: upload one image into a task, and read its stored bytes back."""

from __future__ import annotations

import uuid
from uuid import UUID

import falcon

from api import serialize
from api.names import checked_name
from api.uploads import receive
from storage.db import db
from storage.errors import ImageNotFound
from storage.files import ImageStore
from storage.jpeg import CorruptJpegError, NotJpegError, check_jpeg
from storage.tasks import add_image, find_image, find_task


class ImageCollection:
    def __init__(self, store: ImageStore, max_image_bytes: int) -> None:
        self.store = store
        self.max_image_bytes = max_image_bytes

    def on_post(self, req: falcon.Request, resp: falcon.Response, task_id: UUID) -> None:
        find_task(task_id)  # 404 before reading a body meant for nothing
        with self.store.incoming() as incoming:
            given = receive(req, incoming, self.max_image_bytes)
            name = checked_name(given, "The image name ('name' part, ?name= or the file's name)")
            if name is None:
                raise falcon.HTTPBadRequest(
                    title="Missing name", description="Give the image a name: a 'name' part, ?name=, or a file name."
                )
            try:
                check_jpeg(incoming.path)
            except NotJpegError as error:
                raise falcon.HTTPUnsupportedMediaType(
                    title="Not a JPEG", description=f"{error}; only JPEG is accepted."
                ) from None
            except CorruptJpegError as error:
                raise falcon.HTTPUnprocessableEntity(title="Corrupt JPEG", description=str(error)) from None
            image_id = uuid.uuid4()
            try:
                with db.atomic():
                    image = add_image(task_id, image_id, name, incoming.size)
                    self.store.keep(incoming, task_id, image_id)
            except BaseException:
                self.store.remove(task_id, image_id)
                raise
        resp.status = falcon.HTTP_201
        resp.location = f"/api/v1/tasks/{task_id}/images/{image_id}/file"
        resp.media = serialize.image(image)


class ImageFile:
    def __init__(self, store: ImageStore) -> None:
        self.store = store

    def on_get(self, req: falcon.Request, resp: falcon.Response, task_id: UUID, image_id: UUID) -> None:
        find_image(task_id, image_id)
        path = self.store.path(task_id, image_id)
        if not path.exists():
            raise ImageNotFound(image_id)
        resp.content_type = "image/jpeg"
        resp.set_stream(path.open("rb"), path.stat().st_size)
