"""Small helpers the test modules share: uploads, waiting for a task to end, comparing JSON exactly."""

from __future__ import annotations

from typing import Any

import falcon.testing

from storage.statuses import FINAL
from tests.harness import wait_until


def create_task(client: falcon.testing.TestClient, name: str | None = None) -> dict[str, Any]:
    result = client.simulate_post("/api/v1/tasks", json={"name": name} if name else None)
    assert result.status_code == 201, result.text
    return result.json


def upload(client: falcon.testing.TestClient, task_id: str, data: bytes, name: str) -> falcon.testing.Result:
    return client.simulate_post(
        f"/api/v1/tasks/{task_id}/images",
        body=data,
        headers={"Content-Type": "image/jpeg"},
        params={"name": name},
    )


def wait_until_final(client: falcon.testing.TestClient, task_id: str, timeout: float = 30.0) -> dict[str, Any]:
    return wait_until(lambda: client.simulate_get(f"/api/v1/tasks/{task_id}").json, timeout,
                      f"task {task_id} to end", poll_s=0.05, until=lambda body: body["status"] in FINAL)


def multipart(fields: dict[str, Any]) -> tuple[bytes, str]:
    """Encode ``fields`` as multipart/form-data; a (filename, bytes) tuple is a file part."""
    from urllib3 import encode_multipart_formdata

    return encode_multipart_formdata(fields)


def upload_form(client: falcon.testing.TestClient, task_id: str, fields: dict[str, Any]) -> falcon.testing.Result:
    body, content_type = multipart(fields)
    return client.simulate_post(
        f"/api/v1/tasks/{task_id}/images", body=body, headers={"Content-Type": content_type}
    )


def typed(value: Any) -> Any:
    """``value`` with every number tagged by its type, so that ``typed(a) == typed(b)`` holds only when the
    JSON is the same number of the same kind: 41 (an int) never passes for 41.0 (a float)."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [typed(item) for item in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (type(value).__name__, value)
    return value
