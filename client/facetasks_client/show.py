"""What the command line prints: progress bars (only on a terminal), a task's table, the task list."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

if TYPE_CHECKING:
    from facetasks_client.api import Api

POLL_S = 1.0
FINAL = ("completed", "failed")


def _on_terminal() -> bool:
    return sys.stdout.isatty() and sys.stderr.isatty()


@contextmanager
def progress(total: int, what: str) -> Iterator[tqdm]:
    """A bar on stderr, off when the output is not a terminal (a pipe, a file, CI)."""
    with tqdm(total=total, desc=what, unit="img", disable=not _on_terminal(), file=sys.stderr) as bar:
        yield bar


def wait(api: Api, task_id: str) -> dict[str, Any]:
    """Poll the task's summary until it ends, with a bar of the images done; returns the last summary."""
    summary = api.summary(task_id)
    with progress(summary["progress"]["total"], "processing") as bar:
        while True:
            counts = summary["progress"]
            bar.n = counts["done"] + counts["failed"]
            bar.set_postfix(failed=counts["failed"], refresh=True)
            if summary["status"] in FINAL:
                return summary
            time.sleep(POLL_S)
            summary = api.summary(task_id)


def _mean(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def table(summary: dict[str, Any]) -> str:
    counts, stats = summary["progress"], summary["statistics"]
    rows = [
        ("task", summary["id"]),
        ("name", summary["name"] or "-"),
        ("status", summary["status"]),
        ("images", f"{counts['total']} ({counts['done']} done, {counts['failed']} failed)"),
        ("faces", str(stats["total_faces"])),
        ("men", str(stats["total_males"])),
        ("women", str(stats["total_females"])),
        # As the web page shows them: faces whose gender the detector could not tell.
        ("unknown", str(stats["total_faces"] - stats["total_males"] - stats["total_females"])),
        ("mean age of men", _mean(stats["mean_age_male"])),
        ("mean age of women", _mean(stats["mean_age_female"])),
    ]
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)


def rows(header: Sequence[str], values: Iterable[Sequence[str]]) -> str:
    """A plain table: columns as wide as their widest cell."""
    table = [list(header), *(list(row) for row in values)]
    widths = [max(len(row[column]) for row in table) for column in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                     for row in table)


def listing(tasks: Iterable[dict[str, Any]]) -> str:
    """The tasks, a line each; the owner's name ends a line when the service names owners."""
    lines = [f"{'id':<36}  {'status':<10}  {'images':>7}  {'faces':>6}  name"]
    for task in tasks:
        owner = f"  ({task['owner']})" if "owner" in task else ""
        lines.append(f"{task['id']:<36}  {task['status']:<10}  {task['progress']['total']:>7}  "
                     f"{task['statistics']['total_faces']:>6}  {task['name'] or '-'}{owner}")
    return "\n".join(lines)
