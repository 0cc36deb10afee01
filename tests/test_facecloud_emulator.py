"""The FaceCloud emulator speaks FaceCloud's protocol, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from tools.emulator import Emulator
from tools.emulator_faces import deterministic_faces, face, make_jpeg, read_directive

EMAIL = "user@example.com"
PASSWORD = "secret"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(email=EMAIL, password=PASSWORD) as emu:
        yield emu


@pytest.fixture()
def api(emulator: Emulator) -> str:
    emulator.reset()
    return f"{emulator.url}/api/v1"


def _token(api: str) -> str:
    response = requests.post(f"{api}/login", json={"email": EMAIL, "password": PASSWORD}, timeout=5)
    return response.json()["data"]["access_token"]


def _detect(api: str, image: bytes, token: str | None = None, **headers: str) -> requests.Response:
    headers = {"Content-Type": "image/jpeg", **headers}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(f"{api}/detect?demographics=true", data=image, headers=headers, timeout=5)


def _assert_error(response: requests.Response, status: int) -> dict[str, Any]:
    body = response.json()
    assert response.status_code == status
    assert body["status_code"] == status
    assert isinstance(body["message"], str) and body["message"]
    assert set(body) == {"status_code", "message"}
    return body


def test_login_with_the_right_credentials_returns_a_bearer_token(api: str) -> None:
    response = requests.post(f"{api}/login", json={"email": EMAIL, "password": PASSWORD}, timeout=5)

    assert response.status_code == 200
    assert response.json()["status_code"] == 200
    assert response.json()["data"]["access_token"]


def test_login_with_a_wrong_password_is_a_401_in_facecloud_error_shape(api: str) -> None:
    response = requests.post(f"{api}/login", json={"email": EMAIL, "password": "nope"}, timeout=5)

    _assert_error(response, 401)


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic dXNlcjpzZWNyZXQ="])
def test_detect_without_a_valid_token_is_a_401_in_facecloud_error_shape(
    api: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    _assert_error(_detect(api, make_jpeg(), **headers), 401)


def test_revoked_tokens_get_401_and_a_new_login_works_again(api: str, emulator: Emulator) -> None:
    token = _token(api)
    emulator.configure(revoke_tokens=True)

    _assert_error(_detect(api, make_jpeg(), token), 401)
    assert _detect(api, make_jpeg(), _token(api)).status_code == 200


def test_a_successful_detect_answers_data_and_status_code(api: str) -> None:
    faces = [face(-4, 10, 30, 32, "female", 28.4, score=0.9994), face(40, 2, 20, 20, "male", 51)]

    response = _detect(api, make_jpeg(faces=faces), _token(api))

    assert response.status_code == 200
    assert response.json() == {"data": faces, "status_code": 200}


def test_an_empty_face_directive_answers_empty_data(api: str) -> None:
    assert _detect(api, make_jpeg(faces=[]), _token(api)).json()["data"] == []


def test_an_error_directive_is_answered_as_that_error(api: str) -> None:
    body = _assert_error(_detect(api, make_jpeg(error="no face found, too blurry"), _token(api)), 400)

    assert body["message"] == "no face found, too blurry"
    _assert_error(_detect(api, make_jpeg(error={"status": 413, "message": "too big"}), _token(api)), 413)


@pytest.mark.parametrize(
    "image", [b"", b"PNG\x89 definitely not a jpeg", b"\xff\xd8\xff\xe0 truncated garbage after SOI"]
)
def test_bytes_that_are_not_a_readable_jpeg_are_a_400_bad_image(api: str, image: bytes) -> None:
    assert _assert_error(_detect(api, image, _token(api)), 400)["message"] == "bad image"


def test_a_body_declared_as_something_else_than_jpeg_is_415(api: str) -> None:
    _assert_error(_detect(api, make_jpeg(), _token(api), **{"Content-Type": "image/png"}), 415)


def test_without_demographics_true_faces_come_without_demographics(api: str) -> None:
    image = make_jpeg(faces=[face(1, 1, 5, 5, "male", 30.0)])
    response = requests.post(
        f"{api}/detect",
        data=image,
        headers={"Content-Type": "image/jpeg", "Authorization": f"Bearer {_token(api)}"},
        timeout=5,
    )

    assert response.json()["data"] == [{"bbox": {"x": 1, "y": 1, "width": 5, "height": 5}, "score": 0.99}]


def test_unknown_routes_are_404_in_facecloud_error_shape(api: str) -> None:
    _assert_error(requests.post(f"{api}/recognize", data=b"", timeout=5), 404)


def test_derived_faces_are_the_same_for_the_same_bytes(api: str) -> None:
    image = make_jpeg(200, 150, color=(90, 30, 200))
    token = _token(api)

    assert _detect(api, image, token).json() == _detect(api, image, token).json()


def test_derived_faces_lie_inside_the_image_with_valid_demographics() -> None:
    counts, genders = set(), set()
    for i in range(60):
        width, height = 40 + i * 7, 30 + i * 5
        image = make_jpeg(width, height, color=(i * 4, 255 - i * 4, i))
        faces = deterministic_faces(image, width, height)
        counts.add(len(faces))
        for item in faces:
            box, age = item["bbox"], item["demographics"]["age"]["mean"]
            assert box["x"] >= 0 and box["x"] + box["width"] <= width
            assert box["y"] >= 0 and box["y"] + box["height"] <= height
            assert box["width"] > 0 and box["height"] > 0
            assert isinstance(age, float) and round(age, 1) == age and 18 <= age < 78
            assert 0 < item["score"] <= 1
            genders.add(item["demographics"]["gender"])

    assert counts == {0, 1, 2, 3}
    assert genders == {"male", "female", "unknown"}


def test_make_jpeg_builds_a_real_jpeg_of_the_requested_size_with_a_readable_directive() -> None:
    faces = [face(1, 2, 3, 4, "male", 20.5)]
    image = make_jpeg(120, 80, faces=faces, color=(1, 2, 3))

    with Image.open(io.BytesIO(image)) as img:
        assert (img.format, img.size) == ("JPEG", (120, 80))
    assert read_directive(image) == faces
    assert read_directive(make_jpeg()) is None


def test_fail_next_entries_are_consumed_in_order_by_the_next_detects(api: str, emulator: Emulator) -> None:
    emulator.configure(fail_next=[{"status": 503, "count": 2}, {"status": 429, "count": 1}])
    token, image = _token(api), make_jpeg(faces=[])

    statuses = [_detect(api, image, token).status_code for _ in range(4)]

    assert statuses == [503, 503, 429, 200]


def test_the_config_endpoint_sets_latency_and_failures_over_http(api: str, emulator: Emulator) -> None:
    response = requests.post(
        f"{emulator.url}/_emulator/config",
        json={"latency_ms": 200, "fail_next": [{"status": 500, "count": 1, "message": "boom"}]},
        timeout=5,
    )
    assert response.status_code == 200
    token = _token(api)

    started = time.monotonic()
    assert _assert_error(_detect(api, make_jpeg(), token), 500)["message"] == "boom"
    assert time.monotonic() - started >= 0.19
    emulator.reset()


def test_a_config_with_an_unknown_key_is_refused(emulator: Emulator) -> None:
    response = requests.post(f"{emulator.url}/_emulator/config", json={"latency": 5}, timeout=5)

    _assert_error(response, 400)


def test_stats_count_every_login_and_detect_that_reached_the_server(api: str, emulator: Emulator) -> None:
    token = _token(api)
    ok, bad = make_jpeg(faces=[]), make_jpeg(error="bad")
    _detect(api, ok, token)
    _detect(api, ok, token)
    _detect(api, bad, token)
    _detect(api, ok)  # refused with 401, still counted

    stats = requests.get(f"{emulator.url}/_emulator/stats", timeout=5).json()

    assert stats == {
        "detect_calls": 4,
        "login_calls": 1,
        "detect_calls_by_sha256": {hashlib.sha256(ok).hexdigest(): 3, hashlib.sha256(bad).hexdigest(): 1},
    }


def test_reset_zeroes_the_stats_and_clears_the_config(api: str, emulator: Emulator) -> None:
    token = _token(api)
    emulator.configure(fail_next=[{"status": 503, "count": 5}], latency_ms=50)
    _detect(api, make_jpeg(), token)

    assert requests.post(f"{emulator.url}/_emulator/reset", timeout=5).status_code == 200

    assert emulator.stats() == {"detect_calls": 0, "login_calls": 0, "detect_calls_by_sha256": {}}
    assert _detect(api, make_jpeg(faces=[]), token).status_code == 200


def test_slow_detects_are_served_concurrently(api: str, emulator: Emulator) -> None:
    emulator.configure(latency_ms=300)
    token = _token(api)

    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda i: _detect(api, make_jpeg(faces=[]), token).status_code, range(16)))
    elapsed = time.monotonic() - started
    emulator.reset()

    assert statuses == [200] * 16
    assert elapsed < 16 * 0.3 / 2  # one by one would take 4.8 s


def test_the_cli_announces_its_url_uses_env_credentials_and_stops_on_sigterm() -> None:
    env = {**os.environ, "FACECLOUD_EMAIL": "env@example.com", "FACECLOUD_PASSWORD": "from-env"}
    with subprocess.Popen(
        [sys.executable, "-m", "tools.emulator", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            line = proc.stdout.readline()
            match = re.fullmatch(r"facecloud emulator listening on (http://127\.0\.0\.1:\d+)\n", line)
            assert match, line
            credentials = {"email": "env@example.com", "password": "from-env"}
            assert (
                requests.post(f"{match.group(1)}/api/v1/login", json=credentials, timeout=5).status_code
                == 200
            )

            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=5) == 0
            assert proc.stderr.read() == ""  # quiet without --verbose
        finally:
            if proc.poll() is None:
                proc.kill()
