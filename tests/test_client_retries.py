"""What the REST client (facetasks_client.api, shared by the command line, the benchmark and the tests) sends
again, against a scripted server: a 503 or a 429 is asked again whatever the method, an answer lost after a
POST left is not (the task may exist), and the same loss on a GET is."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import facetasks_client.api
from facetasks_client.api import Api, ApiError

HANG_UP = 0
TASK = b'{"id": "6f1c2b0e-0000-4000-8000-000000000000", "name": null}'


class Scripted:
    """Answers each request with the next of ``script`` (a status, with Retry-After: 1 for 429; or HANG_UP:
    the connection closed with no answer), then 201 with a task; records each request's method."""

    def __init__(self) -> None:
        self.script: list[int] = []
        self.seen: list[str] = []
        self.bodies: list[bytes] = []
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.do_POST()

            def do_POST(self) -> None:
                scripted.bodies.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                scripted.seen.append(self.command)
                status = scripted.script.pop(0) if scripted.script else 201
                if status == HANG_UP:
                    self.close_connection = True
                    return
                body = TASK if status == 201 else b'{"title": "Busy", "description": "try again"}'
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def server(monkeypatch) -> Iterator[Scripted]:
    monkeypatch.setattr(facetasks_client.api, "FIRST_BACKOFF_S", 0.01)
    scripted = Scripted()
    yield scripted
    scripted.server.shutdown()
    scripted.server.server_close()


def test_a_create_refused_with_503_then_429_is_sent_again_after_the_pause_asked_and_succeeds(server):
    server.script = [503, 429]
    said: list[str] = []

    task = Api(server.url, on_retry=said.append).create_task("holiday")

    assert task["id"] == "6f1c2b0e-0000-4000-8000-000000000000"
    assert server.seen == ["POST", "POST", "POST"]
    assert said == [f"{server.url} is unavailable for now (503); retrying (1/6) in 0.01 s",
                    f"{server.url} refuses for now (429); retrying (2/6) in 1 s"]


def test_an_archive_refused_with_503_is_sent_again_whole(server, tmp_path):
    server.script = [503]
    archive = tmp_path / "photos.zip"
    archive.write_bytes(b"PK" + bytes(range(256)) * 64)

    with archive.open("rb") as sent:
        Api(server.url, on_retry=[].append).upload_archive("6f1c2b0e-0000-4000-8000-000000000000", sent)

    assert server.bodies == [archive.read_bytes()] * 2


def test_a_create_whose_answer_is_lost_is_not_sent_twice(server):
    server.script = [HANG_UP]
    said: list[str] = []

    with pytest.raises(ApiError) as raised:
        Api(server.url, on_retry=said.append).create_task("holiday")

    assert server.seen == ["POST"] and said == []
    assert raised.value.description.startswith(f"{server.url} does not answer")


def test_a_read_whose_answer_is_lost_is_asked_again(server):
    server.script = [HANG_UP]
    said: list[str] = []

    assert Api(server.url, on_retry=said.append).summary("6f1c2b0e-0000-4000-8000-000000000000")["name"] is None
    assert server.seen == ["GET", "GET"] and len(said) == 1


def test_no_retries_returns_the_first_refusal_as_it_came(server):
    server.script = [503]

    with pytest.raises(ApiError) as raised:
        Api(server.url, retries=0).create_task(None)

    assert (raised.value.status, raised.value.description) == (503, "try again")
    assert server.seen == ["POST"]
