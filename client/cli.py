"""``facetasks``: from a folder of photos to statistics and a spreadsheet, through the REST API.

    facetasks analyze PATH... [--name N] [--wait] [--csv FILE] [--jobs 8]
    facetasks status ID | wait ID | export ID --csv FILE|- | retry ID | delete ID | list [--status S]

The service is ``--url`` or ``FACETASKS_URL`` (default http://127.0.0.1:8080); credentials are
``--user``/``--password``, or ``FACETASKS_USER``/``FACETASKS_PASSWORD``, or the API's own
``API_USERNAME``/``API_PASSWORD``. Exit codes: 0 done (a waited-for task completed), 1 a waited-for
task failed, 2 a usage or API error, 130 interrupted (a task being waited for keeps running).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from client import show
from client.api import Api, ApiError
from client.photos import batches, find_photos, zipped

EXIT_OK, EXIT_FAILED, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
STATUSES = ("forming", "processing", "completed", "failed")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facetasks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("FACETASKS_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--user", default=os.environ.get("FACETASKS_USER") or os.environ.get("API_USERNAME"))
    parser.add_argument(
        "--password", default=os.environ.get("FACETASKS_PASSWORD") or os.environ.get("API_PASSWORD")
    )
    commands = parser.add_subparsers(dest="command", required=True)
    analyze = commands.add_parser("analyze", help="create a task of every JPEG under PATH..., start it")
    analyze.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    analyze.add_argument("--name")
    analyze.add_argument("--wait", action="store_true", help="wait for the end, print the statistics")
    analyze.add_argument("--csv", help="with --wait: write the faces to this CSV file (- for stdout)")
    analyze.add_argument("--jobs", type=int, default=8, help="uploads at once (default 8)")
    for name, text in (("status", "a task's state"), ("wait", "wait for a task to end"),
                       ("retry", "run a failed task's failed images again"), ("delete", "delete a task")):
        commands.add_parser(name, help=text).add_argument("task_id", metavar="ID")
    export = commands.add_parser("export", help="a task's faces as CSV")
    export.add_argument("task_id", metavar="ID")
    export.add_argument("--csv", required=True, help="the file to write, - for stdout")
    listing = commands.add_parser("list", help="the tasks, newest first")
    listing.add_argument("--status", choices=STATUSES)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    api = Api(args.url, (args.user, args.password) if args.user and args.password else None)
    try:
        return COMMANDS[args.command](api, args)
    except ApiError as error:
        print(f"facetasks: {error.description}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def analyze(api: Api, args: argparse.Namespace) -> int:
    photos = find_photos(args.paths)
    if not photos:
        print("facetasks: no JPEG (.jpg, .jpeg) under " + ", ".join(map(str, args.paths)), file=sys.stderr)
        return EXIT_ERROR
    task = api.create_task(args.name)
    print(f"task {task['id']}", file=sys.stderr)
    rejected = _upload(api, task["id"], photos, max(1, args.jobs))
    for item in rejected:
        print(f"facetasks: skipped {item['name']}: {item['description']}", file=sys.stderr)
    api.start(task["id"])
    if not args.wait:
        print(task["id"])
        return EXIT_OK
    return _wait_and_report(api, task["id"], args.csv)


def _upload(api: Api, task_id: str, photos: list[tuple[Path, str]], jobs: int) -> list[dict[str, Any]]:
    rejected: list[dict[str, Any]] = []
    with show.progress(len(photos), "uploading") as bar, ThreadPoolExecutor(jobs) as pool:
        def send(batch: list[tuple[Path, str]]) -> dict[str, Any]:
            with zipped(batch) as archive:
                answer = api.upload_archive(task_id, archive)
            bar.update(len(batch))
            return answer

        for answer in pool.map(send, batches(photos)):
            rejected.extend(answer["rejected"])
    return rejected


def _wait_and_report(api: Api, task_id: str, csv: str | None) -> int:
    try:
        summary = show.wait(api, task_id)
    except KeyboardInterrupt:
        print(f"\nfacetasks: stopped waiting; task {task_id} keeps running (facetasks wait {task_id})",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    print(show.table(summary))
    if csv:
        _export(api, task_id, csv)
    return EXIT_OK if summary["status"] == "completed" else EXIT_FAILED


def _export(api: Api, task_id: str, target: str) -> None:
    if target == "-":
        api.export_csv(task_id, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    with open(target, "wb") as file:
        api.export_csv(task_id, file)
    print(f"faces written to {target}", file=sys.stderr)


def status(api: Api, args: argparse.Namespace) -> int:
    print(show.table(api.summary(args.task_id)))
    return EXIT_OK


def wait(api: Api, args: argparse.Namespace) -> int:
    return _wait_and_report(api, args.task_id, None)


def export(api: Api, args: argparse.Namespace) -> int:
    _export(api, args.task_id, args.csv)
    return EXIT_OK


def retry(api: Api, args: argparse.Namespace) -> int:
    print(show.table(api.retry(args.task_id)))
    return EXIT_OK


def delete(api: Api, args: argparse.Namespace) -> int:
    api.delete(args.task_id)
    print(f"deleted {args.task_id}", file=sys.stderr)
    return EXIT_OK


def list_tasks(api: Api, args: argparse.Namespace) -> int:
    print(show.listing(api.tasks(args.status)))
    return EXIT_OK


COMMANDS = {"analyze": analyze, "status": status, "wait": wait, "export": export, "retry": retry,
            "delete": delete, "list": list_tasks}


if __name__ == "__main__":
    sys.exit(main())
