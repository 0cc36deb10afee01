"""``facetasks users|keys|whoami`` and ``--key``/``FACETASKS_KEY``: the installed console script against a real
API process with a bootstrap pair."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import service_env
from tests.test_users_and_keys import ROOT_PAIR, Api
from tests.testbed import client_env
from tools.emulator import Emulator

FACETASKS = Path(sys.executable).with_name("facetasks")
KEY = re.compile(r"ft_[0-9a-f]{16}_[0-9a-f]{64}")


@pytest.fixture(scope="module")
def service(database: None, vhost: str, storage_dir: Path, emulator: Emulator, tmp_path_factory) -> Iterator[Api]:
    # Refused keys are tested here, not the limit on failures (tests/test_users_and_keys.py).
    env = service_env(storage_dir, emulator, API_USERNAME=ROOT_PAIR[0], API_PASSWORD=ROOT_PAIR[1],
                      AUTH_FAILURES_PER_MINUTE="1000")
    api = Api(env, tmp_path_factory.mktemp("cli-team") / "api.log").start()
    yield api
    api.stop()


@pytest.fixture
def api(service: Api, clean_db: None) -> Api:
    return service


def run(api: Api, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    """The console script with a clean environment: credentials only as given here."""
    env = client_env(FACETASKS_KEY=key) if key else client_env()
    return subprocess.run([str(FACETASKS), "--url", api.url, *args], capture_output=True, text=True, env=env,
                          timeout=60, check=False)


def as_root(api: Api, *args: str) -> subprocess.CompletedProcess[str]:
    return run(api, "--user", ROOT_PAIR[0], "--password", ROOT_PAIR[1], *args)


def test_an_admin_makes_a_member_and_their_key_and_the_member_signs_in_with_it(api: Api) -> None:
    added = as_root(api, "users", "add", "amy")
    assert (added.returncode, added.stderr, added.stdout) == (0, "added amy (member)\n", "")
    made = as_root(api, "keys", "create", "laptop", "--user", "amy")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert KEY.fullmatch(key)
    key_id = key.split("_")[1]
    assert made.stderr == f"key {key_id} (laptop) for amy: shown this once, keep it\n"

    me = run(api, "whoami", key=key)
    assert (me.returncode, me.stdout) == (0, f"amy (member), key {key_id}\n")
    assert run(api, "--key", key, "whoami").stdout == me.stdout
    assert as_root(api, "whoami").stdout == "root (admin), no key (password)\n"

    users = as_root(api, "users", "list").stdout.splitlines()
    assert [line.split()[:2] for line in users] == [["name", "role"], ["root", "admin"], ["amy", "member"]]
    keys = run(api, "keys", "list", key=key).stdout.splitlines()
    assert keys[0].split() == ["id", "name", "user", "created", "last", "used"]
    assert keys[1].split()[:3] == [key_id, "laptop", "amy"] and len(keys) == 2
    assert key not in "".join(keys)


def test_a_member_is_refused_admin_commands_in_one_line(api: Api) -> None:
    as_root(api, "users", "add", "ben")
    key = as_root(api, "keys", "create", "ci", "--user", "ben").stdout.strip()
    refused = run(api, "users", "add", "mallory", "--role", "admin", key=key)
    assert (refused.returncode, refused.stdout, refused.stderr) == (2, "", "facetasks: Only an admin may do this.\n")
    theirs = run(api, "keys", "create", "x", "--user", "root", key=key)
    assert (theirs.returncode, theirs.stderr) == (2, "facetasks: A member may create keys for themself only.\n")


def test_a_revoked_or_wrong_key_is_said_in_one_line_with_exit_code_2(api: Api) -> None:
    as_root(api, "users", "add", "cat")
    key = as_root(api, "keys", "create", "old", "--user", "cat").stdout.strip()
    revoked = as_root(api, "keys", "revoke", key.split("_")[1])
    assert (revoked.returncode, revoked.stderr) == (0, f"revoked {key.split('_')[1]}\n")
    for given in (key, key[:-1] + ("1" if key[-1] == "0" else "0"), "not-a-key"):
        result = run(api, "list", key=given)
        assert (result.returncode, result.stdout) == (2, "")
        assert result.stderr == ("facetasks: the service refused the API key (--key or FACETASKS_KEY): it is wrong, "
                                 "revoked, or its user removed\n")
    wrong = run(api, "--user", "root", "--password", "nope", "list")
    assert (wrong.returncode, wrong.stderr) == (2, "facetasks: the service refused the password of user root "
                                                   "(--user/--password)\n")
    none = run(api, "whoami")
    assert (none.returncode, none.stderr) == (2, "facetasks: the service needs credentials: give an API key "
                                                  "(--key or FACETASKS_KEY), or --user and --password "
                                                  "(or FACETASKS_USER and FACETASKS_PASSWORD)\n")


def test_removing_a_user_and_listing_tasks_by_owner(api: Api) -> None:
    as_root(api, "users", "add", "dan")
    key = as_root(api, "keys", "create", "cam", "--user", "dan").stdout.strip()
    task = api.call("POST", "/api/v1/tasks", {"Authorization": f"Bearer {key}"}, json={"name": "dan's"}).json()
    listed = as_root(api, "list", "--owner", "dan").stdout.splitlines()
    assert len(listed) == 2 and listed[1].split()[0] == task["id"] and listed[1].endswith("dan's  (dan)")
    removed = as_root(api, "users", "remove", "dan")
    assert (removed.returncode, removed.stderr) == (0, "removed dan: their keys no longer work; their tasks stay\n")
    assert run(api, "whoami", key=key).returncode == 2
    assert as_root(api, "list", "--owner", "dan").stdout.splitlines()[1].split()[0] == task["id"]
