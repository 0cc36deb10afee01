"""``GET …/tasks/{id}/faces.csv``: every face of a task as CSV, streamed, for a spreadsheet.

One row per face, and one with empty face columns for every image without a face (none found, or
failed: its status and error say which), in upload order. RFC 4180 (quoted where needed, CRLF line ends),
UTF-8 with a byte-order mark so that spreadsheets read names in any script. A text cell starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with ``'``, so that a spreadsheet shows
it instead of running it as a formula (the ``'`` is visible in other tools).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from uuid import UUID

import falcon

from api.etag import not_modified
from storage.models import Task
from storage.reports import FaceRow, find_task, stream_face_rows

COLUMNS = ("image_id", "image_name", "status", "error", "x", "y", "width", "height", "gender", "age", "score")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def _text(value: str | None) -> str:
    if value is None:
        return ""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _cells(row: FaceRow) -> list[object]:
    face = [] if row.gender is None else [row.x, row.y, row.width, row.height, row.gender, repr(float(row.age)),
                                          repr(float(row.score))]
    return [row.image_id, _text(row.image_name), row.status, _text(row.error), *(face or [""] * 7)]


def csv_stream(task: Task, batches: Iterable[list[FaceRow]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield (BOM + buffer.getvalue()).encode()
    for batch in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(_cells(row) for row in batch)
        yield buffer.getvalue().encode()


class FacesCsv:
    def on_get(self, req: falcon.Request, resp: falcon.Response, task_id: UUID) -> None:
        task = find_task(task_id)
        if not_modified(req, resp, task, images=True):
            return
        resp.content_type = "text/csv; charset=utf-8"
        resp.downloadable_as = f"facetasks-{task.id}.csv"
        resp.stream = stream_face_rows(task, csv_stream)
