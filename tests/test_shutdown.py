"""Stops keep their promises: the API answers the requests it started, workers finish their images
and leave the rest queued, Ctrl-C in ``make run`` reaches every process once, and a killed
supervisor leaves no process and no port behind."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bench.procs import tree
from service.processes import Child
from tests.conftest import ROOT, Workers, service_env
from tests.harness import answers, free_port, wait_until
from tests.helpers import create_task, upload, wait_until_final
from tests.service_process import ServiceProcess
from tools.emulator_faces import face, make_jpeg

DUAL_HOSTS = "127.0.0.1 localhost\n::1 localhost\n"


def _private_hosts_file_works() -> bool:
    if os.geteuid() != 0:
        return False
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True, check=False)
    return probe.returncode == 0


def with_hosts_file(hosts: Path, command: list[str]) -> list[str]:
    """``command`` in a mount namespace of its own, where ``hosts`` is its /etc/hosts (the
    machine's stays as it is)."""
    return ["unshare", "--mount", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"', str(hosts), *command]


def read_response(conn: socket.socket) -> bytes:
    """One whole HTTP response (headers and a Content-Length body) from ``conn``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        assert chunk, f"connection closed mid-response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    headers = dict(line.lower().split(b": ", 1) for line in head.split(b"\r\n")[1:])
    length = int(headers[b"content-length"])
    while len(body) < length:
        chunk = conn.recv(65536)
        assert chunk, f"connection closed mid-body: {data!r}"
        body += chunk
    return head + b"\r\n\r\n" + body


def refuses(address: tuple[str, int]) -> bool:
    try:
        socket.create_connection(address, timeout=1).close()
    except OSError:
        return True
    return False


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        pytest.param("localhost", marks=pytest.mark.skipif(
            not _private_hosts_file_works(), reason="needs root and unshare to give the API its own /etc/hosts")),
    ],
    ids=["one-address", "localhost-resolving-to-127.0.0.1-and-::1"],
)
def test_sigterm_lets_the_api_answer_an_upload_that_was_in_flight_on_every_address(
    client, storage_dir, emulator, tmp_path, host
):
    port = free_port("127.0.0.1", "::1") if host == "localhost" else free_port()
    command = [sys.executable, "-m", "service.api_server"]
    addresses = [("127.0.0.1", port)]
    if host == "localhost":
        (tmp_path / "hosts").write_text(DUAL_HOSTS)
        command = with_hosts_file(tmp_path / "hosts", command)
        addresses.append(("::1", port))
    env = service_env(storage_dir, emulator, HOST=host, PORT=str(port))
    api = Child("api", command, env, log=tmp_path / "api.log", cwd=ROOT).start()
    try:
        for address, _ in addresses:
            url = f"http://{f'[{address}]' if ':' in address else address}:{port}/health"
            wait_until(lambda url=url: answers(url), 30, f"the API on {address}", api)
        task = create_task(client)
        body = make_jpeg(faces=[])
        conn = socket.create_connection(addresses[-1], timeout=30)  # every recv below ends within 30 s
        # A first request answered on the connection: the server has accepted it.
        conn.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(conn).startswith(b"HTTP/1.1 200")
        head = (f"POST /api/v1/tasks/{task['id']}/images?name=slow.jpg HTTP/1.1\r\nHost: x\r\n"
                f"Content-Type: image/jpeg\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        conn.sendall(head + body[:100])

        api.terminate()
        for address in addresses:
            wait_until(lambda address=address: refuses(address), 10, f"{address} refusing new connections", api)
        conn.sendall(body[100:])
        answer = read_response(conn).decode()
        conn.close()

        assert answer.startswith("HTTP/1.1 201"), answer
        assert api.wait(30) == 0, api.tail()
        images = client.simulate_get(f"/api/v1/tasks/{task['id']}").json["images"]
        assert [i["name"] for i in images] == ["slow.jpg"]
        served = [line for line in api.tail(20000).splitlines() if "serving on" in line]
        assert sorted(line.rsplit("serving on ", 1)[1] for line in served) == sorted(
            f"http://{f'[{a}]' if ':' in a else a}:{port}" for a, _ in addresses)
    finally:
        api.stop(grace_s=10)


def distinct_images(count: int) -> dict[str, bytes]:
    return {f"{i}.jpg": make_jpeg(faces=[face(i, i, 9, 9, "female", 30.0 + i)], color=(i, 7, 7)) for i in range(count)}


def detections_per_image(emulator, images: dict[str, bytes]) -> list[int]:
    calls = emulator.stats()["detect_calls_by_sha256"]
    return [calls.get(hashlib.sha256(data).hexdigest(), 0) for data in images.values()]


def test_sigterm_mid_task_finishes_images_in_flight_and_a_restart_completes_the_rest(
    client, database, vhost, storage_dir, fresh_emulator, tmp_path
):
    fresh_emulator.configure(latency_ms=300)
    images = distinct_images(10)
    task = create_task(client)
    for name, data in images.items():
        upload(client, task["id"], data, name)
    env = service_env(storage_dir, fresh_emulator)
    first = Workers(env, tmp_path / "first.log", processes=1, threads=2).start()
    client.simulate_post(f"/api/v1/tasks/{task['id']}/start")
    wait_until(lambda: fresh_emulator.stats()["detect_calls"] >= 3, 30, "three detector calls")

    assert first.stop() == 0
    stopped = client.simulate_get(f"/api/v1/tasks/{task['id']}").json
    statuses = sorted(i["status"] for i in stopped["images"])
    assert stopped["status"] == "processing"
    assert "processing" not in statuses and "queued" in statuses  # finished what it had, left the rest
    second = Workers(env, tmp_path / "second.log", processes=1, threads=2).start()
    try:
        final = wait_until_final(client, task["id"], timeout=60)
    finally:
        second.stop()

    assert final["status"] == "completed"
    assert final["statistics"]["total_females"] == 10
    mean = final["statistics"]["mean_age_female"]
    assert type(mean) is float and mean == sum(30.0 + i for i in range(10)) / 10
    assert detections_per_image(fresh_emulator, images) == [1] * 10


def test_ctrl_c_in_make_run_lets_in_flight_images_finish_and_each_image_is_detected_once(
    client, database, vhost, storage_dir, fresh_emulator, tmp_path
):
    fresh_emulator.configure(latency_ms=1500)
    images = distinct_images(8)
    env = service_env(storage_dir, fresh_emulator, WORKER_PROCESSES="1", WORKER_THREADS="2")
    first = ServiceProcess(env, tmp_path / "first.log").start()
    try:
        task_id = first.create_task(images)
        assert first.start_task(task_id).status_code == 202
        # Both worker threads are inside a detector call that lasts 1.5 s.
        wait_until(lambda: fresh_emulator.stats()["detect_calls"] >= 2, 30, "two detector calls")

        first.interrupt()
        assert first.supervisor.wait(60) == 0, first.log.read_text()[-3000:]
    finally:
        first.stop()
    stopped = client.simulate_get(f"/api/v1/tasks/{task_id}").json
    log = first.log.read_text()
    statuses = [i["status"] for i in stopped["images"]]  # upload order, as ``images``

    assert "Killing worker process" not in log
    assert log.count("Stopping worker process") == 1
    assert stopped["status"] == "processing"
    assert "processing" not in statuses and statuses.count("done") >= 2, statuses
    # What was in flight finished, detected once; nothing else was touched.
    assert detections_per_image(fresh_emulator, images) == [int(s == "done") for s in statuses], statuses
    second = ServiceProcess(env, tmp_path / "second.log").start()
    try:
        final = second.wait_until_final(task_id, timeout=60)
    finally:
        assert second.stop() == 0
    assert final["status"] == "completed"
    assert detections_per_image(fresh_emulator, images) == [1] * len(images)


def alive(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def test_a_supervisor_killed_with_sigkill_takes_every_process_along_and_frees_the_port(
    database, vhost, storage_dir, emulator, tmp_path
):
    service = ServiceProcess(service_env(storage_dir, emulator, WORKER_PROCESSES="2"), tmp_path / "service.log")
    service.start()
    try:
        family = [pid for pid in tree(service.proc.pid) if pid != service.proc.pid]
        commands = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in family]
        for module in (b"service.api_server", b"dramatiq", b"service.housekeeping"):
            assert any(module in command for command in commands), (module, commands)
        assert len(family) >= 5  # and the two worker processes

        os.kill(service.proc.pid, signal.SIGKILL)
        service.supervisor.wait(10)
        wait_until(lambda: not any(alive(pid) for pid in family), 60, "every child of the supervisor gone")
    finally:
        service.stop()
    # A new API (waitress sets SO_REUSEADDR too) can listen on the port again.
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", service.port))
        listener.listen()


def test_a_second_ctrl_c_stops_make_run_at_once_and_says_so_in_its_exit_code(
    database, vhost, storage_dir, fresh_emulator, tmp_path
):
    fresh_emulator.configure(latency_ms=20_000)
    env = service_env(storage_dir, fresh_emulator, FACECLOUD_TIMEOUT_S="30", WORKER_PROCESSES="1", WORKER_THREADS="1")
    service = ServiceProcess(env, tmp_path / "service.log").start()
    try:
        task_id = service.create_task(distinct_images(1))
        assert service.start_task(task_id).status_code == 202
        wait_until(lambda: fresh_emulator.stats()["detect_calls"] == 1, 30, "the detector call held")

        service.interrupt()
        wait_until(lambda: "stopping: in-flight work" in service.log.read_text(), 10, "the graceful stop begun")
        service.interrupt()
        code = service.supervisor.wait(15)
    finally:
        service.stop()

    assert code == 1
    assert "workers did not stop in time; killing it" in service.log.read_text()
