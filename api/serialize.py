"""The JSON shapes of DESIGN.md: task, task summary, image, face, statistics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from detectors.base import Face
from storage.models import Image
from storage.reports import ImageReport, ImageRow, Progress, Statistics, TaskReport


def timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def face(f: Face) -> dict[str, Any]:
    return {
        "bbox": {"x": f.x, "y": f.y, "width": f.width, "height": f.height},
        "gender": f.gender,
        "age": float(f.age),
        "score": float(f.score),
    }


def image(i: Image | ImageRow, faces: list[Face] | None = None) -> dict[str, Any]:
    return {
        "id": str(i.id),
        "name": i.name,
        "status": i.status,
        "error": i.error,
        "faces": [face(f) for f in faces or []],
    }


def _mean(value: float | None) -> float | None:
    return None if value is None else float(value)


def statistics(s: Statistics) -> dict[str, Any]:
    return {
        "total_faces": s.total_faces,
        "total_males": s.total_males,
        "total_females": s.total_females,
        "mean_age_male": _mean(s.mean_age_male),
        "mean_age_female": _mean(s.mean_age_female),
    }


def progress(p: Progress) -> dict[str, int]:
    return {"total": p.total, "done": p.done, "failed": p.failed}


def task(report: TaskReport) -> dict[str, Any]:
    """The task JSON; without ``images`` when the report has none loaded (a summary)."""
    t = report.task
    body: dict[str, Any] = {
        "id": str(t.id),
        "name": t.name,
        "status": t.status,
        "created_at": timestamp(t.created_at),
        "updated_at": timestamp(t.updated_at),
        "started_at": timestamp(t.started_at),
        "finished_at": timestamp(t.finished_at),
        "progress": progress(report.progress),
    }
    if report.images is not None:
        body["images"] = [image_report(i) for i in report.images]
    body["statistics"] = statistics(report.statistics)
    return body


def image_report(report: ImageReport) -> dict[str, Any]:
    return image(report.image, report.faces)
