"""``facetasks``: from a folder of photos to statistics and a spreadsheet, through the REST API.

    facetasks analyze PATH... [--name N] [--wait] [--csv FILE] [--jobs 8]
    facetasks status ID | start ID | wait ID | export ID --csv FILE|- | retry ID | delete ID | list [--status S]

The service is ``--url`` or ``FACETASKS_URL`` (default http://127.0.0.1:8080); credentials are
``--user``/``--password``, or ``FACETASKS_USER``/``FACETASKS_PASSWORD``, or the API's own
``API_USERNAME``/``API_PASSWORD``; these options may also follow the command. Exit codes: 0 done
(a waited-for task completed), 1 a waited-for task failed, 2 a usage or API error, 130 interrupted
(a task being waited for keeps running; a task being uploaded is deleted).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NoReturn

from client import show
from client.api import Api, ApiError
from client.photos import batches, find_photos, zipped

EXIT_OK, EXIT_FAILED, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
STATUSES = ("forming", "processing", "completed", "failed")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facetasks", description=__doc__.split("\n\n")[0])
    _connection_options(parser, {
        "url": os.environ.get("FACETASKS_URL", "http://127.0.0.1:8080"),
        "user": os.environ.get("FACETASKS_USER") or os.environ.get("API_USERNAME"),
        "password": os.environ.get("FACETASKS_PASSWORD") or os.environ.get("API_PASSWORD"),
    })
    # The same options after the command (`facetasks list --user alice`); given there, they win.
    common = argparse.ArgumentParser(add_help=False)
    _connection_options(common, dict.fromkeys(("url", "user", "password"), argparse.SUPPRESS))
    commands = parser.add_subparsers(dest="command", required=True)
    analyze = commands.add_parser("analyze", parents=[common],
                                  help="create a task of every JPEG under PATH..., start it")
    analyze.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    analyze.add_argument("--name", help="the task's name (default: the folder's name)")
    analyze.add_argument("--wait", action="store_true", help="wait for the end, print the statistics")
    analyze.add_argument("--csv", help="with --wait: write the faces to this CSV file (- for stdout)")
    analyze.add_argument("--jobs", type=int, default=8, help="uploads at once (default 8)")
    for name, text in (("status", "a task's state"), ("start", "start a task that is still forming"),
                       ("wait", "wait for a task to end"), ("retry", "run a failed task's failed images again"),
                       ("delete", "delete a task")):
        commands.add_parser(name, parents=[common], help=text).add_argument("task_id", metavar="ID")
    export = commands.add_parser("export", parents=[common], help="a task's faces as CSV")
    export.add_argument("task_id", metavar="ID")
    export.add_argument("--csv", required=True, help="the file to write, - for stdout")
    listing = commands.add_parser("list", parents=[common], help="the tasks, newest first")
    listing.add_argument("--status", choices=STATUSES)
    return parser


def _connection_options(parser: argparse.ArgumentParser, defaults: dict[str, Any]) -> None:
    parser.add_argument("--url", default=defaults["url"],
                        help="the service, e.g. http://127.0.0.1:8080 (FACETASKS_URL)")
    parser.add_argument("--user", default=defaults["user"], help="API user (FACETASKS_USER)")
    parser.add_argument("--password", default=defaults["password"], help="API password (FACETASKS_PASSWORD)")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    api = Api(args.url, (args.user, args.password) if args.user and args.password else None)
    try:
        return COMMANDS[args.command](api, args)
    except ApiError as error:
        print(f"facetasks: {error.description}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # `facetasks list | head`: the reader had enough, which is no error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as error:  # a CSV file that cannot be written, a photo that cannot be read
        print(f"facetasks: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("\nfacetasks: interrupted", file=sys.stderr)
        return _abandon()


def _abandon() -> NoReturn:
    """Exit 130 at once: uploads still in flight are dropped, not joined (a second Ctrl-C while the
    interpreter joined them would end in a traceback)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


def analyze(api: Api, args: argparse.Namespace) -> int:
    missing = [str(path) for path in args.paths if not path.exists()]
    if missing:
        print(f"facetasks: {', '.join(missing)} does not exist", file=sys.stderr)
        return EXIT_ERROR
    photos = find_photos(args.paths)
    if not photos:
        print("facetasks: no JPEG (.jpg, .jpeg) under " + ", ".join(map(str, args.paths)), file=sys.stderr)
        return EXIT_ERROR
    task = api.create_task(args.name or _name_of(args.paths))
    try:
        print(f"task {task['id']}", file=sys.stderr)
        added, rejected = _upload(api, task["id"], photos, max(1, args.jobs))
    except (KeyboardInterrupt, ApiError) as stopped:
        # A half-filled task is worse than none: it would be started by mistake or linger unnoticed.
        reason = "interrupted" if isinstance(stopped, KeyboardInterrupt) else stopped.description
        print(f"\nfacetasks: {reason}; deleting task {task['id']} (nothing was started)", file=sys.stderr)
        api.delete(task["id"])
        return _abandon() if isinstance(stopped, KeyboardInterrupt) else EXIT_ERROR
    for item in rejected:
        print(f"facetasks: skipped {item['name']}: {item['description']}", file=sys.stderr)
    if not added:
        print(f"facetasks: none of the {len(photos)} files was a JPEG the service accepts; "
              f"task {task['id']} deleted", file=sys.stderr)
        api.delete(task["id"])
        return EXIT_ERROR
    api.start(task["id"])
    if not args.wait:
        print(task["id"])
        return EXIT_OK
    return _wait_and_report(api, task["id"], args.csv)


def _name_of(paths: list[Path]) -> str:
    """The folders' names (a file stands for its folder), as the task's default name."""
    names = dict.fromkeys((path if path.is_dir() else path.parent).resolve().name or "/" for path in paths)
    return ", ".join(names)[:255]


def _upload(api: Api, task_id: str, photos: list[tuple[Path, str]], jobs: int) -> tuple[int, list[dict[str, Any]]]:
    """How many images were added, and the files the service rejected."""
    added, rejected = 0, []
    pool = ThreadPoolExecutor(jobs)

    def send(batch: list[tuple[Path, str]]) -> dict[str, Any]:
        with zipped(batch) as archive:
            try:
                answer = api.upload_archive(task_id, archive)
            except ApiError as error:
                if error.title != "No JPEG in the archive":
                    raise
                answer = {"items": [], "rejected": [{"name": name, "description": "not a JPEG the service accepts"}
                                                    for _, name in batch]}
        bar.update(len(batch))
        return answer

    try:
        with show.progress(len(photos), "uploading") as bar:
            for answer in pool.map(send, batches(photos)):
                added += len(answer["items"])
                rejected.extend(answer["rejected"])
    finally:
        # On Ctrl-C or an error, batches not yet begun are dropped instead of waited for.
        pool.shutdown(wait=False, cancel_futures=True)
    return added, rejected


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
    if api.summary(args.task_id)["status"] == "forming":
        print(f"facetasks: task {args.task_id} was never started, so it will not end; start it with "
              f"`facetasks start {args.task_id}`", file=sys.stderr)
        return EXIT_ERROR
    return _wait_and_report(api, args.task_id, None)


def start(api: Api, args: argparse.Namespace) -> int:
    print(show.table(api.start(args.task_id)))
    return EXIT_OK


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


COMMANDS = {"analyze": analyze, "status": status, "start": start, "wait": wait, "export": export, "retry": retry,
            "delete": delete, "list": list_tasks}


if __name__ == "__main__":
    sys.exit(main())
