"""Prometheus metrics: the API's /metrics and the workers' exposition, parsed as Prometheus would."""

from __future__ import annotations

import falcon.testing
import requests
from prometheus_client.parser import text_string_to_metric_families

from api.app import Parts, create_app
from bench import seed
from service.processes import Child
from service.run import worker_command
from storage.census import IMAGES_SQL
from storage.db import db
from storage.stores import open_store
from tests.conftest import MAX_IMAGE_BYTES
from tests.harness import free_port, wait_until
from tests.helpers import create_task, upload, wait_until_final
from tests.object_store import CREDENTIALS
from tools.emulator_faces import face, make_jpeg


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(metrics: dict, name: str, **labels: str) -> float:
    return metrics.get((name, tuple(sorted(labels.items()))), 0.0)


def test_api_metrics_count_requests_by_route_and_tasks_by_status(client):
    before = samples(client.simulate_get("/metrics").text)
    task = create_task(client)
    client.simulate_get(f"/api/v1/tasks/{task['id']}")
    client.simulate_get("/api/v1/no-such-route")

    after = samples(client.simulate_get("/metrics").text)

    route = "/api/v1/tasks/{task_id:uuid}"
    assert value(after, "facetasks_http_requests_total", route=route, method="GET", status="200") == (
        value(before, "facetasks_http_requests_total", route=route, method="GET", status="200") + 1
    )
    assert value(after, "facetasks_http_requests_total", route="/api/v1/tasks", method="POST", status="201") >= 1
    assert value(after, "facetasks_http_requests_total", route="unmatched", method="GET", status="404") >= 1
    assert value(after, "facetasks_http_request_seconds_count", route=route, method="GET") >= 1
    assert value(after, "facetasks_tasks", status="forming") == 1
    assert value(after, "facetasks_tasks", status="completed") == 0


def test_worker_metrics_show_messages_detector_latency_and_errors(client, workers, fresh_emulator):
    fresh_emulator.configure(fail_next=[{"status": 503, "count": 1}])
    task = create_task(client)
    for i in range(3):
        upload(client, task["id"], make_jpeg(faces=[face(i, i, 9, 9, "male", 30)], color=(i, 5, 5)), f"{i}.jpg")
    client.simulate_post(f"/api/v1/tasks/{task['id']}/start")
    assert wait_until_final(client, task["id"])["status"] == "completed"

    port = workers.env["WORKER_METRICS_PORT"]
    worker = samples(requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text)
    api = samples(client.simulate_get("/metrics").text)

    assert value(worker, "dramatiq_messages_total", queue_name="detect", actor_name="detect_image") >= 4
    assert value(worker, "facetasks_detector_seconds_count", detector="facecloud") >= 4
    assert value(worker, "facetasks_detector_errors_total", detector="facecloud", kind="transient") >= 1
    assert value(api, "facetasks_images", status="done") == 3
    assert value(api, "facetasks_tasks", status="completed") == 1


def test_a_second_worker_set_on_a_taken_metrics_port_logs_one_line_and_keeps_working(workers, tmp_path):
    port = workers.env["WORKER_METRICS_PORT"]
    # Another worker set on the same host and port, with the default (loopback) address.
    env = {**workers.env, "dramatiq_prom_db": str(tmp_path / "metrics"), "WORKER_PROCESSES": "1",
           "WORKER_THREADS": "1"}
    del env["WORKER_METRICS_HOST"]
    log = tmp_path / "second.log"
    second = Child("second workers", worker_command(), env, log)
    second.start()
    try:
        wait_until(lambda: "worker metrics not served" in log.read_text()
                   and "Worker process is ready for action" in log.read_text(), 60, "the second set starts", second)
        text = log.read_text()
        assert second.running
    finally:
        second.stop(grace_s=30)

    refusals = [line for line in text.splitlines() if "worker metrics not served" in line]
    assert len(refusals) == 1
    assert refusals[0].endswith(f"worker metrics not served: cannot listen on 127.0.0.1:{port} (Address already in "
                                "use); set WORKER_METRICS_PORT to a free port")
    assert "Traceback" not in text
    # The first set's exporter is still the one answering.
    assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).status_code == 200


def test_api_metrics_time_the_image_stores_calls_and_count_its_failures(client, publisher, monkeypatch):
    task = create_task(client)
    image = upload(client, task["id"], make_jpeg(faces=[]), "a.jpg").json
    assert client.simulate_get(f"/api/v1/tasks/{task['id']}/images/{image['id']}/file").status_code == 200
    for name, value_ in CREDENTIALS.items():
        monkeypatch.setenv(name, value_)
    # A bucket behind a port nothing listens on: every call fails at once.
    down = falcon.testing.TestClient(create_app(Parts(
        open_store("s3://facetasks", f"http://127.0.0.1:{free_port()}"), publisher, MAX_IMAGE_BYTES)))
    refused = upload(down, task["id"], make_jpeg(faces=[]), "b.jpg")

    kept = samples(client.simulate_get("/metrics").text)
    failed = samples(down.simulate_get("/metrics").text)

    assert value(kept, "facetasks_store_seconds_count", operation="keep") == 1
    assert value(kept, "facetasks_store_seconds_count", operation="open") == 1
    assert value(kept, "facetasks_store_errors_total", operation="keep") == 0
    assert (refused.status_code, refused.headers["Retry-After"]) == (503, "10")
    assert value(failed, "facetasks_store_seconds_count", operation="keep") == 1
    assert value(failed, "facetasks_store_errors_total", operation="keep") == 1


IN_FLIGHT = {"queued": 3, "processing": 1}


def _images_read(plan: dict) -> int:
    """Rows of ``images`` a plan node and its children read, those its filters dropped included."""
    own = 0
    if plan.get("Relation Name") == "images":
        own = (plan["Actual Rows"] + plan.get("Rows Removed by Filter", 0)) * plan["Actual Loops"]
    return own + sum(_images_read(child) for child in plan.get("Plans", ()))


def test_images_by_status_on_metrics_are_exact_and_read_only_the_images_in_flight(client):
    # One task per status (positions are per task); a deleted task's images are not counted.
    for status, count in (("pending", 800), ("done", 4), ("failed", 2), *IN_FLIGHT.items()):
        seed.image_rows(seed.task_row("processing"), count, status)
    doomed = seed.task_row("processing")
    seed.image_rows(doomed, 50, "queued")
    db.execute_sql("UPDATE tasks SET cancelled = true WHERE id = %s", (str(doomed),))

    scraped = samples(client.simulate_get("/metrics").text)

    assert {status: value(scraped, "facetasks_images", status=status)
            for status in ("pending", "queued", "processing", "done", "failed")} == {
        "pending": 800.0, "queued": 3.0, "processing": 1.0, "done": 4.0, "failed": 2.0}
    assert value(scraped, "facetasks_tasks", status="processing") == 5.0
    # A scrape costs the same at 10 million images: the planner reads images only through the index
    # of those in flight (the sequential scan it would pick on a table this small is ruled out).
    with db.atomic():
        db.execute_sql("SET LOCAL enable_seqscan = off")
        plan = db.execute_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + IMAGES_SQL).fetchone()[0][0]["Plan"]
    assert _images_read(plan) == 3 + 1 + 50
