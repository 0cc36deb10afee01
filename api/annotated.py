"""``GET …/images/{image_id}/annotated``: the image with its faces drawn, 404 like ``…/file``."""

from __future__ import annotations

from uuid import UUID

import falcon
from PIL import Image

from api import drawing
from storage.errors import ImageNotFound
from storage.reports import image_faces
from storage.store import ImageStore
from storage.tasks import find_image


class AnnotatedImage:
    def __init__(self, store: ImageStore) -> None:
        self.store = store

    def on_get(self, req: falcon.Request, resp: falcon.Response, task_id: UUID, image_id: UUID) -> None:
        find_image(task_id, image_id)
        faces = image_faces(image_id)
        try:
            with drawing.spooled(self.store.open(task_id, image_id)) as original:
                data = drawing.draw(original, faces)
        except FileNotFoundError:
            # Deleted between the lookup and the read.
            raise ImageNotFound(image_id) from None
        except Image.DecompressionBombError:
            # Decoding it whole would take gigabytes; the original is still there at …/file.
            raise falcon.HTTPUnprocessableEntity(
                title="Image too large to draw on",
                description="The image has too many pixels to annotate; fetch it from …/file instead.",
            ) from None
        resp.content_type = "image/jpeg"
        resp.data = data
