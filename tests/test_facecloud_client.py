"""The FaceCloud client against the emulator, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from detectors.base import BadImageError, DetectorAuthError, Face, TransientDetectorError
from detectors.facecloud import FaceCloudClient, normalize_base_url
from tests.harness import free_port
from tools.emulator import Emulator
from tools.emulator_faces import face, make_jpeg

EMAIL = "worker@example.com"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(email=EMAIL, password=PASSWORD) as emu:
        yield emu


@pytest.fixture()
def client(emulator: Emulator) -> Iterator[FaceCloudClient]:
    emulator.reset()
    facecloud = FaceCloudClient(emulator.url, EMAIL, PASSWORD, timeout=(2.0, 5.0))
    yield facecloud
    facecloud.close()


@pytest.mark.parametrize(
    "given",
    [
        "http://h:1234",
        "http://h:1234/",
        "http://h:1234/api",
        "http://h:1234/api/",
        "http://h:1234/api/v1",
        "http://h:1234/api/v1/",
    ],
)
def test_every_accepted_url_form_becomes_the_api_v1_base(given: str) -> None:
    assert normalize_base_url(given) == "http://h:1234/api/v1"


def test_a_path_prefix_before_api_is_kept() -> None:
    assert (
        normalize_base_url("https://gw.example.com/facecloud/api")
        == "https://gw.example.com/facecloud/api/v1"
    )


def test_a_url_without_scheme_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="FaceCloud URL"):
        FaceCloudClient("backend.facecloud.example", EMAIL, PASSWORD)


def test_eight_threads_share_one_login(client: FaceCloudClient, emulator: Emulator) -> None:
    start = threading.Barrier(8)

    def detect(i: int) -> list[Face]:
        start.wait()
        return client.detect(make_jpeg(color=(i, 0, 0)))

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(detect, range(8)))

    assert len(results) == 8
    assert emulator.stats()["login_calls"] == 1
    assert emulator.stats()["detect_calls"] == 8


def test_a_revoked_token_is_replaced_by_one_new_login(client: FaceCloudClient, emulator: Emulator) -> None:
    client.detect(make_jpeg(faces=[]))
    emulator.configure(revoke_tokens=True)

    faces = client.detect(make_jpeg(faces=[face(1, 2, 3, 4, "female", 30.5)]))

    assert faces == [Face(1, 2, 3, 4, "female", 30.5, 0.99)]
    assert emulator.stats()["login_calls"] == 2
    assert emulator.stats()["detect_calls"] == 3


def test_threads_that_all_meet_a_revoked_token_log_in_again_only_once(
    client: FaceCloudClient, emulator: Emulator
) -> None:
    client.detect(make_jpeg(faces=[]))
    emulator.configure(revoke_tokens=True)
    start = threading.Barrier(8)

    def detect(i: int) -> list[Face]:
        start.wait()
        return client.detect(make_jpeg(faces=[], color=(0, i, 0)))

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(detect, range(8))) == [[]] * 8
    assert emulator.stats()["login_calls"] == 2


def test_a_second_401_after_a_fresh_login_is_an_auth_error(
    client: FaceCloudClient, emulator: Emulator
) -> None:
    emulator.configure(fail_next=[{"status": 401, "count": 2}])

    with pytest.raises(DetectorAuthError, match="401"):
        client.detect(make_jpeg())

    assert emulator.stats()["login_calls"] == 2
    assert emulator.stats()["detect_calls"] == 2


def test_a_wrong_password_is_an_auth_error_and_no_image_is_sent(emulator: Emulator) -> None:
    emulator.reset()
    facecloud = FaceCloudClient(emulator.url, EMAIL, "wrong")

    with pytest.raises(DetectorAuthError, match="401"):
        facecloud.detect(make_jpeg())

    assert emulator.stats()["detect_calls"] == 0
    facecloud.close()


def test_a_rejected_image_is_a_bad_image_error_carrying_facecloud_message(client: FaceCloudClient) -> None:
    with pytest.raises(BadImageError, match="FaceCloud rejected the image: face too small to analyse"):
        client.detect(make_jpeg(error="face too small to analyse"))


def test_bytes_that_are_not_a_jpeg_are_a_bad_image(client: FaceCloudClient) -> None:
    with pytest.raises(BadImageError, match="bad image"):
        client.detect(b"GIF89a not a jpeg")


@pytest.mark.parametrize("status", [403, 404, 413, 415, 422])
def test_other_client_errors_are_bad_images(client: FaceCloudClient, status: int) -> None:
    with pytest.raises(BadImageError, match=str(status)):
        client.detect(make_jpeg(error={"status": status, "message": "nope"}))


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
def test_timeouts_throttling_and_server_errors_answered_for_an_image_are_transient(
    client: FaceCloudClient, status: int
) -> None:
    with pytest.raises(TransientDetectorError, match=f"HTTP {status}"):
        client.detect(make_jpeg(error={"status": status, "message": "later"}))


@pytest.mark.parametrize("status", [429, 503, 500])
def test_a_failing_service_is_transient_and_the_next_call_succeeds(
    client: FaceCloudClient, emulator: Emulator, status: int
) -> None:
    emulator.configure(fail_next=[{"status": status, "count": 1}])
    image = make_jpeg(faces=[face(5, 5, 20, 20, "male", 41.0)])

    with pytest.raises(TransientDetectorError, match=f"HTTP {status}"):
        client.detect(image)
    assert client.detect(image) == [Face(5, 5, 20, 20, "male", 41.0, 0.99)]
    assert emulator.stats()["detect_calls"] == 2


def test_an_answer_slower_than_the_read_timeout_is_transient(emulator: Emulator) -> None:
    emulator.reset()
    emulator.configure(latency_ms=1500)
    facecloud = FaceCloudClient(emulator.url, EMAIL, PASSWORD, timeout=(1.0, 0.3))
    try:
        with pytest.raises(TransientDetectorError, match=r"timeout after 0\.3s"):
            facecloud.detect(make_jpeg())
    finally:
        emulator.reset()
        facecloud.close()


def test_a_refused_connection_is_transient() -> None:
    facecloud = FaceCloudClient(f"http://127.0.0.1:{free_port()}", EMAIL, PASSWORD, timeout=(1.0, 1.0))

    with pytest.raises(TransientDetectorError, match="connection"):
        facecloud.detect(make_jpeg())


def test_a_server_that_stops_after_login_makes_detect_transient() -> None:
    with Emulator(email=EMAIL, password=PASSWORD) as emu:
        facecloud = FaceCloudClient(emu.url, EMAIL, PASSWORD, timeout=(1.0, 1.0))
        facecloud.detect(make_jpeg(faces=[]))
    with pytest.raises(TransientDetectorError):
        facecloud.detect(make_jpeg(faces=[]))
    facecloud.close()


class _FixedAnswerHandler(BaseHTTPRequestHandler):
    """Answers every POST with the server's ``answer`` after its ``delay_s``, counting the calls.

    Stands in for what the emulator does not do on purpose: a gateway page instead of JSON, a
    login that hangs.
    """

    server: _FixedAnswerServer

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.calls += 1
        time.sleep(self.server.delay_s)
        status, content_type, body = self.server.answer
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _FixedAnswerServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answer: tuple[int, str, bytes], delay_s: float = 0.0) -> None:
        self.answer, self.delay_s = answer, delay_s
        self.calls, self.lock = 0, threading.Lock()
        super().__init__(("127.0.0.1", 0), _FixedAnswerHandler)

    def __enter__(self) -> _FixedAnswerServer:
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
        self.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def test_the_proxy_the_environment_named_when_the_client_was_made_carries_every_call(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.reset()
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, emulator.url)  # the emulator answers a proxied request line as its own
    for name in ("no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    facecloud = FaceCloudClient("http://facecloud.invalid", EMAIL, PASSWORD, timeout=(2.0, 5.0))
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(name)

    faces = facecloud.detect(make_jpeg(faces=[face(1, 2, 30, 40, "female", 41.5)]))
    facecloud.close()

    assert [(f.x, f.y, f.width, f.height, f.gender, f.age) for f in faces] == [(1, 2, 30, 40, "female", 41.5)]
    assert (emulator.stats()["login_calls"], emulator.stats()["detect_calls"]) == (1, 1)


def test_an_answer_that_is_not_json_is_transient() -> None:
    with _FixedAnswerServer((200, "text/html", b"<html>maintenance</html>")) as server:
        facecloud = FaceCloudClient(server.url, EMAIL, PASSWORD)
        with pytest.raises(TransientDetectorError, match="not JSON"):
            facecloud.detect(make_jpeg())
        facecloud.close()


def test_threads_queued_behind_a_failing_login_share_its_failure_instead_of_retrying() -> None:
    unavailable = (503, "application/json", b'{"status_code": 503, "message": "maintenance"}')
    with _FixedAnswerServer(unavailable, delay_s=0.3) as server:
        facecloud = FaceCloudClient(server.url, EMAIL, PASSWORD)
        start = threading.Barrier(8)

        def detect(_: int) -> str:
            start.wait()
            with pytest.raises(TransientDetectorError) as failure:
                facecloud.detect(make_jpeg())
            return str(failure.value)

        with ThreadPoolExecutor(8) as pool:
            messages = set(pool.map(detect, range(8)))
        facecloud.close()

    assert server.calls == 1
    assert messages == {"FaceCloud login answered HTTP 503: maintenance"}


def test_faces_with_a_missing_bbox_are_a_transient_malformed_answer(client: FaceCloudClient) -> None:
    with pytest.raises(TransientDetectorError, match="malformed"):
        client.detect(make_jpeg(faces=[{"score": 0.9}]))


def test_negative_bbox_values_at_the_edges_are_kept(client: FaceCloudClient) -> None:
    faces = client.detect(make_jpeg(faces=[face(-12, -7, 40, 41, "female", 25.0)]))

    assert (faces[0].x, faces[0].y, faces[0].width, faces[0].height) == (-12, -7, 40, 41)


def test_float_bbox_values_are_rounded_to_whole_pixels(client: FaceCloudClient) -> None:
    faces = client.detect(make_jpeg(faces=[face(10.6, -3.7, 20.2, 19.5, "male", 25.0)]))

    assert (faces[0].x, faces[0].y, faces[0].width, faces[0].height) == (11, -4, 20, 20)
    assert all(type(v) is int for v in (faces[0].x, faces[0].y, faces[0].width, faces[0].height))


@pytest.mark.parametrize("gender", ["unknown", None, "robot", "missing"])
def test_any_gender_other_than_male_or_female_becomes_unknown(
    client: FaceCloudClient, gender: str | None
) -> None:
    item = face(0, 0, 10, 10, gender, 30.0)
    if gender == "missing":
        del item["demographics"]["gender"]

    assert client.detect(make_jpeg(faces=[item]))[0].gender == "unknown"


def test_male_and_female_are_kept(client: FaceCloudClient) -> None:
    faces = client.detect(make_jpeg(faces=[face(0, 0, 9, 9, "male", 30.0), face(9, 9, 9, 9, "female", 31.0)]))

    assert [f.gender for f in faces] == ["male", "female"]


def test_a_whole_number_age_is_parsed_as_a_float(client: FaceCloudClient) -> None:
    faces = client.detect(make_jpeg(faces=[face(0, 0, 10, 10, "female", 28, score=1)]))

    assert faces[0].age == 28.0
    assert type(faces[0].age) is float
    assert type(faces[0].score) is float


def test_an_image_without_faces_gives_an_empty_list(client: FaceCloudClient) -> None:
    assert client.detect(make_jpeg(faces=[])) == []


def test_the_same_bytes_give_the_same_faces_twice(client: FaceCloudClient) -> None:
    image = make_jpeg(320, 240, color=(10, 200, 30))

    assert client.detect(image) == client.detect(image)


def test_debug_logs_name_each_call_but_never_the_password_or_the_token(
    client: FaceCloudClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        client.detect(make_jpeg(faces=[]))

    assert "POST http://127.0.0.1" in caplog.text
    assert "/api/v1/detect -> 200 in" in caplog.text
    assert "/api/v1/login -> 200 in" in caplog.text
    assert PASSWORD not in caplog.text
    assert client._token and client._token not in caplog.text
    assert PASSWORD not in repr(client)
