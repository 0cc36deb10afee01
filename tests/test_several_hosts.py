"""The API and the workers as two "hosts" that share only three addresses: PostgreSQL and RabbitMQ
over TLS (private instances with certificates from a CA made here) and an S3 server (moto's server
mode) behind a TCP proxy the tests cut. Each host has a working folder and a STORAGE_DIR of its own,
which must stay empty: every image goes through the object store."""

from __future__ import annotations

import io
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.run import api_command
from storage.db import db, init_db
from tests.certificates import CertificateAuthority
from tests.conftest import ROOT, Workers, service_env
from tests.faults import assert_exact, running_task
from tests.harness import wait_until
from tests.object_store import CREDENTIALS, S3Server
from tests.private_services import PrivatePostgres, PrivateRabbitMQ
from tests.service_process import ServiceProcess
from tools.emulator_faces import face, make_jpeg

BUCKET = "facetasks-images"
PREFIX = "several-hosts"
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(scope="module")
def authorities(tmp_path_factory) -> tuple[CertificateAuthority, CertificateAuthority]:
    """The CA that signed the servers' certificates, and one that did not."""
    folder = tmp_path_factory.mktemp("certificates")
    return CertificateAuthority(folder, "facetasks-test"), CertificateAuthority(folder, "stranger")


@pytest.fixture(scope="module")
def tls_postgres(authorities) -> Iterator[PrivatePostgres]:
    cluster = PrivatePostgres(tls=authorities[0].server("localhost"))
    try:
        yield cluster.create()
    finally:
        cluster.destroy()


@pytest.fixture(scope="module")
def tls_rabbitmq(authorities) -> Iterator[PrivateRabbitMQ]:
    node = PrivateRabbitMQ(tls=authorities[0].server("localhost"))
    try:
        yield node.create()
    finally:
        node.destroy()


@pytest.fixture(scope="module", autouse=True)
def bucket(s3) -> str:
    s3.client().create_bucket(Bucket=BUCKET)
    return BUCKET


def database_url(cluster: PrivatePostgres, ca_file: Path) -> str:
    return f"postgresql://postgres@localhost:{cluster.port}/facetasks?sslmode=verify-full&sslrootcert={ca_file}"


def rabbitmq_url(node: PrivateRabbitMQ) -> str:
    return f"amqps://guest:guest@localhost:{node.tls_port}/%2F"


@pytest.fixture(scope="module")
def links(authorities, tls_postgres, tls_rabbitmq, proxy) -> dict[str, str]:
    """All that the two hosts share: three addresses, the CA that vouches for two of them, a store key."""
    ca_file = str(authorities[0].ca_file)
    return {
        "DATABASE_URL": database_url(tls_postgres, authorities[0].ca_file),
        "RABBITMQ_URL": rabbitmq_url(tls_rabbitmq),
        "RABBITMQ_CA_FILE": ca_file,
        "STORAGE_URL": f"s3://{BUCKET}/{PREFIX}",
        "S3_ENDPOINT_URL": proxy.url,
        **CREDENTIALS,
    }


def host_folder(tmp_path_factory, name: str) -> Path:
    folder = tmp_path_factory.mktemp(name)
    (folder / "images").mkdir()
    (folder / "tmp").mkdir()
    return folder


def host_env(folder: Path, emulator, links: dict[str, str]) -> dict[str, str]:
    # A store outage of a few seconds must be outlasted by the retries: up to ~10 s of backoff.
    return service_env(
        folder / "images", emulator, **links, TMPDIR=str(folder / "tmp"), DETECT_MAX_RETRIES="12",
        RETRY_MIN_BACKOFF_MS="100", RETRY_MAX_BACKOFF_MS="1000",
        HOUSEKEEPING_INTERVAL_S="1", UNSENT_AFTER_S="2", STALE_CLAIM_S="30", STORE_ORPHAN_GRACE_S="2",
    )


@pytest.fixture(scope="module")
def api_host(links, emulator, tmp_path_factory) -> Iterator[ServiceProcess]:
    folder = host_folder(tmp_path_factory, "api-host")
    env = host_env(folder, emulator, links)
    subprocess.run([sys.executable, "-m", "service.migrate"], env=env, cwd=folder, check=True,
                   capture_output=True, timeout=120)
    api = ServiceProcess(env, folder / "api.log", command=api_command(), cwd=folder).start()
    api.folder = folder
    # This module's own reads of rows (assert_exact's audit) go to the private cluster, over TLS.
    shared = db.obj
    init_db(links["DATABASE_URL"], max_connections=4)
    try:
        yield api
    finally:
        db.close_all()
        db.initialize(shared)
        assert api.stop() == 0
    assert list((folder / "images").iterdir()) == []  # after every test of the module too


@pytest.fixture(scope="module")
def worker_host(api_host, links, emulator, tmp_path_factory) -> Iterator[Workers]:
    folder = host_folder(tmp_path_factory, "worker-host")
    workers = Workers(host_env(folder, emulator, links), folder / "workers.log", processes=1, threads=4, cwd=folder)
    workers.folder = folder
    with workers:
        yield workers
    assert list((folder / "images").iterdir()) == []


def keys(s3: S3Server, task_id: str) -> list[str]:
    return s3.keys(BUCKET, f"{PREFIX}/{task_id}/")


def zip_of(images: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in images.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_photos_and_a_zip_complete_on_two_hosts_that_share_only_three_addresses(
    api_host, worker_host, s3, fresh_emulator
):
    photos = {name: (FIXTURES / name).read_bytes() for name in ("astronaut.jpg", "no-face.jpg")}
    zipped = {f"album/{i}.jpg": make_jpeg(faces=[face(8, 8, 12, 12, "female", 30.5)], color=(i, 9, 9))
              for i in range(2)}
    http, url = api_host.http, api_host.url
    task_id = http.post(f"{url}/api/v1/tasks", json={}).json()["id"]
    for name, data in photos.items():
        assert http.post(f"{url}/api/v1/tasks/{task_id}/images", files={"file": (name, data)}).status_code == 201
    added = http.post(f"{url}/api/v1/tasks/{task_id}/images", data=zip_of(zipped),
                      headers={"Content-Type": "application/zip"})
    assert added.status_code == 201 and added.json()["rejected"] == []

    assert api_host.start_task(task_id).status_code == 202
    task = api_host.wait_until_final(task_id, timeout=120)

    assert task["status"] == "completed", task
    assert [(i["name"], i["status"]) for i in task["images"]] == [(n, "done") for n in [*photos, *zipped]]
    sent = {**photos, **zipped}
    for image in task["images"]:
        stored = http.get(f"{url}/api/v1/tasks/{task_id}/images/{image['id']}/file")
        assert stored.status_code == 200 and stored.headers["Content-Type"] == "image/jpeg"
        assert stored.content == sent[image["name"]]
    annotated = http.get(f"{url}/api/v1/tasks/{task_id}/images/{task['images'][2]['id']}/annotated")
    assert annotated.status_code == 200 and annotated.content[:3] == b"\xff\xd8\xff"
    assert keys(s3, task_id) == sorted(f"{PREFIX}/{task_id}/{i['id']}.jpg" for i in task["images"])

    assert http.delete(f"{url}/api/v1/tasks/{task_id}").status_code == 204
    wait_until(lambda: not keys(s3, task_id), 30, "the task's objects deleted")
    for host in (api_host, worker_host):
        assert list((host.folder / "images").iterdir()) == []
        assert list((host.folder / "tmp").glob("facetasks-incoming/*")) == []  # staged uploads cleaned up


def test_a_store_cut_mid_task_refuses_uploads_with_503_and_the_task_still_completes_every_image_once(
    api_host, worker_host, proxy, fresh_emulator
):
    http, url = api_host.http, api_host.url
    waiting = http.post(f"{url}/api/v1/tasks", json={}).json()["id"]
    task_id, images, stats = running_task(api_host, fresh_emulator, count=24, latency_ms=300, calls=2)

    with proxy.down():
        wait_until(lambda: "the object store failed to read an image" in worker_host.log.read_text(), 30,
                   "a worker's read refused")
        refused = http.post(f"{url}/api/v1/tasks/{waiting}/images", params={"name": "late.jpg"},
                            data=images["00.jpg"], headers={"Content-Type": "image/jpeg"})
        # A Response is falsy when its status is an error: its body stands for it.
        health = wait_until(lambda: (h := http.get(f"{url}/health")).status_code == 503 and h.json(), 15,
                            "/health to see the store down")

    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "10"
    assert refused.json() == {
        "title": "Image store unavailable",
        "description": "The image store is unreachable; nothing was changed. Try again shortly.",
    }
    assert (health["store"], health["postgres"], health["rabbitmq"]) == ("unavailable", "ok", "ok")
    assert http.get(f"{url}/api/v1/tasks/{waiting}").json()["progress"]["total"] == 0
    task = api_host.wait_until_final(task_id, timeout=120)
    assert_exact(task, images, stats)
    assert fresh_emulator.stats()["detect_calls"] == len(images)  # each image detected once, none twice


def test_an_object_whose_row_never_committed_is_removed_after_the_grace_period(api_host, worker_host, s3):
    http, url = api_host.http, api_host.url
    task_id = http.post(f"{url}/api/v1/tasks", json={}).json()["id"]
    kept = http.post(f"{url}/api/v1/tasks/{task_id}/images", params={"name": "kept.jpg"},
                     data=make_jpeg(faces=[]), headers={"Content-Type": "image/jpeg"}).json()["id"]
    # What an API killed between the object and the commit of its row leaves behind.
    orphan = f"{PREFIX}/{task_id}/{uuid.uuid4()}.jpg"
    s3.client().put_object(Bucket=BUCKET, Key=orphan, Body=make_jpeg(faces=[]))

    wait_until(lambda: orphan not in keys(s3, task_id), 30, "the orphan removed")
    assert keys(s3, task_id) == [f"{PREFIX}/{task_id}/{kept}.jpg"]


@pytest.mark.parametrize("link", ["postgres", "rabbitmq"])
def test_a_process_given_the_wrong_ca_stops_at_start_with_a_clear_error(
    link, authorities, tls_postgres, tls_rabbitmq, links, emulator, tmp_path
):
    stranger = authorities[1].ca_file
    wrong = ({"DATABASE_URL": database_url(tls_postgres, stranger)} if link == "postgres"
             else {"RABBITMQ_CA_FILE": str(stranger)})
    env = service_env(tmp_path / "images", emulator, **{**links, **wrong})

    started = subprocess.run([sys.executable, "-m", "service.workers"], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=60)

    assert started.returncode == 2, started.stderr
    where = (f"PostgreSQL at localhost:{tls_postgres.port}" if link == "postgres"
             else f"RabbitMQ at localhost:{tls_rabbitmq.tls_port}")
    assert f"{where} refused over TLS" in started.stderr
    assert "certificate verify failed" in started.stderr
