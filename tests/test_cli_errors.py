"""What `facetasks` says when something is wrong: an address written loosely, a host that does not exist, a
port nobody listens on, missing credentials, a task never started, a folder without photos, Ctrl-C during
the upload. Run as the installed console script against the real service (with Basic auth on)."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

import facetasks_client.api
from facetasks_client.api import Api, ApiError
from tests.conftest import service_env
from tests.harness import free_port
from tests.service_process import ServiceProcess, serving
from tests.test_cli import FACETASKS, task_id_of
from tests.testbed import client_env
from tools.emulator_faces import face, make_jpeg

USER, PASSWORD = "alice", "wonderland-42"


@pytest.fixture(scope="module")
def service(database, vhost, storage_dir, emulator, tmp_path_factory) -> Iterator[ServiceProcess]:
    env = service_env(storage_dir, emulator, WORKER_PROCESSES="1", WORKER_THREADS="4",
                      API_USERNAME=USER, API_PASSWORD=PASSWORD)
    with serving(env, tmp_path_factory.mktemp("cli-errors")) as running:
        running.http.auth = (USER, PASSWORD)
        yield running


def facetasks(*args: str, credentials: bool = True) -> subprocess.CompletedProcess[str]:
    env = client_env(FACETASKS_USER=USER, FACETASKS_PASSWORD=PASSWORD) if credentials else client_env()
    return subprocess.run([str(FACETASKS), *args], capture_output=True, text=True, env=env, timeout=120)


def test_an_address_without_scheme_or_with_the_api_prefix_reaches_the_service(service):
    bare = facetasks("--url", f"127.0.0.1:{service.port}", "list")
    prefixed = facetasks("list", "--url", f"{service.url}/api/v1/")

    assert (bare.returncode, bare.stderr) == (0, "")
    assert (prefixed.returncode, prefixed.stderr) == (0, "")
    assert bare.stdout.startswith("id ") and prefixed.stdout == bare.stdout


def test_an_unknown_host_is_said_at_once_without_retries():
    started = time.monotonic()
    result = facetasks("--url", "http://facetasks.invalid:8080", "list")

    assert time.monotonic() - started < 10
    assert result.returncode == 2
    assert result.stderr == ("facetasks: cannot find the host facetasks.invalid of http://facetasks.invalid:8080; "
                             "give the service's address with --url or FACETASKS_URL\n")


def test_a_closed_port_is_retried_aloud_then_named_with_what_to_do(monkeypatch, capsys):
    monkeypatch.setattr(facetasks_client.api, "RETRIES", 2)
    monkeypatch.setattr(facetasks_client.api, "FIRST_BACKOFF_S", 0.05)
    port = free_port()

    with pytest.raises(ApiError) as raised:
        Api(f"127.0.0.1:{port}").summary("6f1c2b0e-0000-4000-8000-000000000000")

    where = f"http://127.0.0.1:{port} does not answer (Connection refused)"
    assert capsys.readouterr().err == (f"facetasks: {where}; retrying (1/2) in 0.05 s\n"
                                       f"facetasks: {where}; retrying (2/2) in 0.1 s\n")
    assert raised.value.description == (f"{where}; is the service running (make run)? "
                                        "Give its address with --url or FACETASKS_URL")


def test_a_401_names_the_options_and_the_options_work_after_the_command(service):
    refused = facetasks("--url", service.url, "list", credentials=False)
    after = facetasks("list", "--url", service.url, "--user", USER, "--password", PASSWORD, credentials=False)

    assert refused.returncode == 2
    assert refused.stderr == ("facetasks: the service needs credentials: give an API key (--key or FACETASKS_KEY), "
                              "or --user and --password (or FACETASKS_USER and FACETASKS_PASSWORD)\n")
    assert after.returncode == 0 and after.stdout.startswith("id ")


def test_wait_on_a_task_never_started_says_how_to_start_it_and_exits_2(service):
    task_id = service.create_task({"a.jpg": make_jpeg(faces=[])})

    waited = facetasks("--url", service.url, "wait", task_id)

    assert waited.returncode == 2
    assert waited.stderr == (f"facetasks: task {task_id} was never started, so it will not end; "
                             f"start it with `facetasks start {task_id}`\n")
    started = facetasks("--url", service.url, "start", task_id)
    assert started.returncode == 0 and re.search(r"^status\s+processing$", started.stdout, re.MULTILINE)


def test_a_folder_whose_jpegs_the_service_refuses_leaves_no_task_behind(service, tmp_path):
    folder = tmp_path / "scans"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"not a jpeg at all")
    (folder / "b.jpg").write_bytes(b"\x89PNG\r\n\x1a\n")

    result = facetasks("--url", service.url, "analyze", str(folder))

    task_id = task_id_of(result)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (f"facetasks: none of the 2 files was a JPEG the service accepts; "
                                              f"task {task_id} deleted")
    assert service.task(task_id).status_code == 404


def test_a_missing_path_is_said_to_not_exist(service, tmp_path):
    result = facetasks("--url", service.url, "analyze", str(tmp_path / "holiday"))

    assert (result.returncode, result.stderr) == (2, f"facetasks: {tmp_path / 'holiday'} does not exist\n")


def test_analyze_names_the_task_after_the_folder_and_counts_unknown_faces(service, fresh_emulator, tmp_path):
    folder = tmp_path / "garden party"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(make_jpeg(faces=[face(1, 1, 9, 9, "unknown", 30), face(20, 1, 9, 9, "male", 40)]))

    result = facetasks("--url", service.url, "analyze", str(folder), "--wait")

    assert result.returncode == 0, result.stderr
    assert service.task(task_id_of(result)).json()["name"] == "garden party"
    assert re.search(r"^name\s+garden party$", result.stdout, re.MULTILINE)
    assert re.search(r"^faces\s+2$\n^men\s+1$\n^women\s+0$\n^unknown\s+1$", result.stdout, re.MULTILINE)


def test_ctrl_c_during_the_upload_deletes_the_half_filled_task_and_says_so(service, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    photo = make_jpeg(faces=[])
    for i in range(2000):
        (folder / f"{i:04}.jpg").write_bytes(photo)
    env = client_env(FACETASKS_USER=USER, FACETASKS_PASSWORD=PASSWORD)
    running = subprocess.Popen([str(FACETASKS), "--url", service.url, "analyze", str(folder), "--jobs", "1"],
                               stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    first = running.stderr.readline()
    task_id = re.fullmatch(r"task ([0-9a-f-]{36})\n", first)[1]

    running.send_signal(signal.SIGINT)
    rest = running.stderr.read()

    assert running.wait(60) == 130
    assert rest == f"\nfacetasks: interrupted; deleting task {task_id} (nothing was started)\n"
    assert service.task(task_id).status_code == 404
    running.stdout.close()
    running.stderr.close()
