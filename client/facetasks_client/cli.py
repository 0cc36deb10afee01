"""``facetasks``: from a folder of photos to statistics and a spreadsheet, through the REST API.

    facetasks analyze PATH... [--name N] [--wait] [--csv FILE] [--jobs 8]
    facetasks status ID | start ID | wait ID | export ID --csv FILE|- | retry ID | delete ID
    facetasks list [--status S] [--owner U]
    facetasks users add NAME [--role member|admin] | users list | users remove NAME
    facetasks keys create NAME [--user U] | keys list | keys revoke ID | whoami

The service is ``--url`` or ``FACETASKS_URL`` (default http://127.0.0.1:8080); credentials are an API
key, ``--key`` or ``FACETASKS_KEY`` (sent as a Bearer token), or ``--user``/``--password``, or
``FACETASKS_USER``/``FACETASKS_PASSWORD``, or the API's own ``API_USERNAME``/``API_PASSWORD``; these
options may also follow the command. Exit codes: 0 done (a waited-for task completed), 1 a waited-for
task failed, 2 a usage or API error (credentials refused included), 130 interrupted (a task being
waited for keeps running; a task being uploaded is deleted).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NoReturn

from facetasks_client import show
from facetasks_client.api import Api, ApiError
from facetasks_client.photos import batches, find_photos, zipped

EXIT_OK, EXIT_FAILED, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
STATUSES = ("forming", "processing", "completed", "failed")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facetasks", description=__doc__.split("\n\n")[0])
    _connection_options(parser, {
        "url": os.environ.get("FACETASKS_URL", "http://127.0.0.1:8080"),
        "user": os.environ.get("FACETASKS_USER") or os.environ.get("API_USERNAME"),
        "password": os.environ.get("FACETASKS_PASSWORD") or os.environ.get("API_PASSWORD"),
        "key": os.environ.get("FACETASKS_KEY"),
    })
    # The same options after the command (`facetasks list --user alice`); given there, they win.
    common = argparse.ArgumentParser(add_help=False)
    _connection_options(common, dict.fromkeys(("url", "user", "password", "key"), argparse.SUPPRESS))
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
    listing.add_argument("--owner", help="only this user's tasks (admins)")
    _team_commands(commands)
    return parser


def _connection_options(parser: argparse.ArgumentParser, defaults: dict[str, Any]) -> None:
    parser.add_argument("--url", default=defaults["url"],
                        help="the service, e.g. http://127.0.0.1:8080 (FACETASKS_URL)")
    parser.add_argument("--user", default=defaults["user"], help="API user (FACETASKS_USER)")
    parser.add_argument("--password", default=defaults["password"], help="API password (FACETASKS_PASSWORD)")
    parser.add_argument("--key", default=defaults["key"],
                        help="an API key (ft_…), sent instead of --user/--password (FACETASKS_KEY)")


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


def _refusal(error: ApiError, args: argparse.Namespace) -> str:
    """The API's own description, or for a 401 which credentials were refused."""
    if error.status != 401:
        return error.description
    if args.key:
        return "the service refused the API key (--key or FACETASKS_KEY): it is wrong, revoked, or its user removed"
    if args.user and args.password:
        return f"the service refused the password of user {args.user} (--user/--password)"
    return ("the service needs credentials: give an API key (--key or FACETASKS_KEY), or --user and --password "
            "(or FACETASKS_USER and FACETASKS_PASSWORD)")


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


COMMANDS = {"analyze": analyze, "status": status, "start": start, "wait": wait, "export": export, "retry": retry,
            "delete": delete, "list": list_tasks, "users": users, "keys": keys, "whoami": whoami}


if __name__ == "__main__":
    sys.exit(main())
