"""``facetasks``: from a folder of photos to statistics and a spreadsheet, through the REST API.

    facetasks analyze PATH... [--name N] [--wait] [--csv FILE] [--jobs 8]
    facetasks status ID | wait ID | export ID --csv FILE|- | retry ID | delete ID | list [--status S] [--owner U]
    facetasks users add NAME [--role member|admin] | users list | users remove NAME
    facetasks keys create NAME [--user U] | keys list | keys revoke ID | whoami

The service is ``--url`` or ``FACETASKS_URL`` (default http://127.0.0.1:8080); credentials are an API
key, ``--key`` or ``FACETASKS_KEY`` (sent as a Bearer token), or ``--user``/``--password``, or
``FACETASKS_USER``/``FACETASKS_PASSWORD``, or the API's own ``API_USERNAME``/``API_PASSWORD``. Exit codes:
0 done (a waited-for task completed), 1 a waited-for task failed, 2 a usage or API error (credentials
refused included), 130 interrupted (a task being waited for keeps running).
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
    parser.add_argument("--key", default=os.environ.get("FACETASKS_KEY"),
                        help="an API key (ft_…); used instead of --user/--password")
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
    listing.add_argument("--owner", help="only this user's tasks (admins)")
    _team_commands(commands)
    return parser


def _team_commands(commands: argparse._SubParsersAction) -> None:
    users = commands.add_parser("users", help="add, list or remove users (admins)")
    user_commands = users.add_subparsers(dest="action", required=True)
    add = user_commands.add_parser("add", help="add a user")
    add.add_argument("name")
    add.add_argument("--role", choices=("member", "admin"), default="member")
    user_commands.add_parser("list", help="every user")
    user_commands.add_parser("remove", help="remove a user: their keys stop working, their tasks stay").add_argument(
        "name")
    keys = commands.add_parser("keys", help="create, list or revoke API keys")
    key_commands = keys.add_subparsers(dest="action", required=True)
    create = key_commands.add_parser("create", help="a new key, printed once")
    create.add_argument("name", help="what the key is for, e.g. laptop")
    create.add_argument("--user", dest="for_user", help="whose key (admins; default: your own)")
    key_commands.add_parser("list", help="the keys you may see (never their secrets)")
    key_commands.add_parser("revoke", help="revoke a key at once").add_argument("key_id", metavar="ID")
    commands.add_parser("whoami", help="who these credentials sign in as")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    api = Api(args.url, (args.user, args.password) if args.user and args.password else None, args.key)
    try:
        return COMMANDS[args.command](api, args)
    except ApiError as error:
        print(f"facetasks: {_refusal(error, args)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _refusal(error: ApiError, args: argparse.Namespace) -> str:
    """The API's own description, or for a 401 which credentials were refused."""
    if error.status != 401:
        return error.description
    if args.key:
        return "the service refused the API key (--key or FACETASKS_KEY): it is wrong, revoked, or its user removed"
    if args.user and args.password:
        return f"the service refused the password of user {args.user} (--user/--password)"
    return "the service needs credentials: give an API key (--key or FACETASKS_KEY) or --user and --password"


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
    print(show.listing(api.tasks(args.status, args.owner)))
    return EXIT_OK


def users(api: Api, args: argparse.Namespace) -> int:
    if args.action == "add":
        user = api.add_user(args.name, args.role)
        print(f"added {user['name']} ({user['role']})", file=sys.stderr)
    elif args.action == "remove":
        api.remove_user(args.name)
        print(f"removed {args.name}: their keys no longer work; their tasks stay", file=sys.stderr)
    else:
        listed = [(u["name"], u["role"], u["created_at"]) for u in api.list_users()]
        print(show.rows(("name", "role", "created"), listed))
    return EXIT_OK


def keys(api: Api, args: argparse.Namespace) -> int:
    if args.action == "create":
        made = api.create_key(args.name, args.for_user)
        print(f"key {made['id']} ({made['name']}) for {made['user']}: shown this once, keep it", file=sys.stderr)
        print(made["key"])
    elif args.action == "revoke":
        api.revoke_key(args.key_id)
        print(f"revoked {args.key_id}", file=sys.stderr)
    else:
        print(show.rows(("id", "name", "user", "created", "last used"),
                        [(k["id"], k["name"], k["user"], k["created_at"], k["last_used_at"] or "never")
                         for k in api.list_keys()]))
    return EXIT_OK


def whoami(api: Api, args: argparse.Namespace) -> int:
    me = api.me()
    print(f"{me['name']} ({me['role']}), " + (f"key {me['key_id']}" if me["key_id"] else "no key (password)"))
    return EXIT_OK


COMMANDS = {"analyze": analyze, "status": status, "wait": wait, "export": export, "retry": retry,
            "delete": delete, "list": list_tasks, "users": users, "keys": keys, "whoami": whoami}


if __name__ == "__main__":
    sys.exit(main())
