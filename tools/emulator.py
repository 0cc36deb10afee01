"""A FaceCloud emulator: a real HTTP server speaking FaceCloud's protocol under ``/api/v1``.

Used by tests, benchmarks and ``make run``-style demos in place of the cloud. Routes:

* ``POST /api/v1/login`` -- JSON ``{"email", "password"}`` ->
  ``{"data": {"access_token": "..."}, "status_code": 200}``; wrong credentials -> 401.
* ``POST /api/v1/detect?demographics=true`` -- raw JPEG, ``Authorization: Bearer <token>``; faces as
  decided by ``tools.emulator_faces`` (a COM directive in the image, else derived from its bytes).
* ``POST /_emulator/config`` (no auth) -- JSON with any of ``latency_ms`` (every detect sleeps that long),
  ``fail_next`` (``[{"status": 503, "count": 2, "message": "..."}, ...]`` answered, in order, by the next
  detect calls, or only by calls for the image whose SHA-256 an entry's optional ``"sha256"`` names;
  replaces any queue left), ``revoke_tokens: true`` (every issued token becomes invalid).
* ``GET /_emulator/stats`` -> ``{"detect_calls", "login_calls", "detect_calls_by_sha256"}``; every
  request that reached the route counts, error answers included.
* ``GET /_emulator/arrivals`` -> ``{"arrivals": [[sha256, t], ...]}``: every detect call as it arrived, ``t``
  being the machine's monotonic clock (``time.monotonic()`` of any process here).
* ``POST /_emulator/reset`` -- zero the stats, restore the start-up latency, drop ``fail_next``.
  Issued tokens stay valid.

Errors are always ``{"status_code": N, "message": "..."}`` with HTTP status N.
Run it alone with ``python -m tools.emulator --port 8090``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import secrets
import signal
import socket
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tools.emulator_faces import EmulatedError, faces_for

log = logging.getLogger(__name__)

DEFAULT_PORT = 8090


class _State:
    """Everything the handlers share; every access goes through ``lock``."""

    def __init__(self, email: str, password: str, latency_ms: int) -> None:
        self.lock = threading.Lock()
        self.email = email
        self.password = password
        self.default_latency_ms = latency_ms
        self.tokens: set[str] = set()
        # Every token ever handed out, revoked ones included: tests check none leaks into logs.
        self.issued: list[str] = []
        self.stopping = threading.Event()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.latency_ms = self.default_latency_ms
            self.fail_next: list[dict[str, Any]] = []
            self.login_calls = 0
            self.detect_calls = 0
            self.detect_calls_by_sha256: Counter[str] = Counter()
            # (SHA-256, time.monotonic()) of every detect call as it arrived: GET /_emulator/arrivals.
            self.arrivals: list[tuple[str, float]] = []

    def configure(self, config: dict[str, Any]) -> None:
        """Apply a config object; raises ValueError naming the offending key."""
        unknown = set(config) - {"latency_ms", "fail_next", "revoke_tokens"}
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(sorted(unknown))}")
        latency = config.get("latency_ms")
        if latency is not None and (not isinstance(latency, int | float) or latency < 0):
            raise ValueError("latency_ms must be a number >= 0")
        queue = [_fail_entry(entry) for entry in config.get("fail_next") or []]
        with self.lock:
            if latency is not None:
                self.latency_ms = latency
            if "fail_next" in config:
                self.fail_next = queue
            if config.get("revoke_tokens"):
                self.tokens.clear()

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "detect_calls": self.detect_calls,
                "login_calls": self.login_calls,
                "detect_calls_by_sha256": dict(self.detect_calls_by_sha256),
            }

    def take_failure(self, sha256: str) -> dict[str, Any] | None:
        """The first queued failure meant for this image (or for any image), used up by one."""
        with self.lock:
            for index, entry in enumerate(self.fail_next):
                if entry["sha256"] in (None, sha256):
                    entry["count"] -= 1
                    if entry["count"] <= 0:
                        self.fail_next.pop(index)
                    return entry
            return None


def _fail_entry(entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict) or not isinstance(entry.get("status"), int):
        raise ValueError('each fail_next entry must look like {"status": 503, "count": 1}')
    count = entry.get("count", 1)
    if not isinstance(count, int) or count < 1:
        raise ValueError("fail_next count must be a whole number >= 1")
    message = entry.get("message") or f"emulated failure (HTTP {entry['status']})"
    # With "sha256" the entry fails only that image's calls: a test can make one image flaky.
    return {"status": entry["status"], "count": count, "message": str(message), "sha256": entry.get("sha256")}


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections alive, as FaceCloud does, so clients reuse them.
    protocol_version = "HTTP/1.1"
    # Without it a small response split in headers + body waits ~40 ms on delayed ACKs.
    disable_nagle_algorithm = True
    server: _Server

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True  # the body's end is unknown, so the connection is unusable
            self._send(400, {"status_code": 400, "message": "invalid Content-Length"})
            return
        # Read the whole body first: on a kept-alive connection leftover bytes would be
        # parsed as the next request.
        body = self.rfile.read(length)
        path = urlsplit(self.path).path.rstrip("/")
        routes = {
            "/api/v1/login": self._login,
            "/api/v1/detect": self._detect,
            "/_emulator/config": self._config,
            "/_emulator/reset": self._reset,
        }
        self._dispatch(routes, path, body)

    def do_GET(self) -> None:
        routes = {"/_emulator/stats": self._stats, "/_emulator/arrivals": self._arrivals}
        self._dispatch(routes, urlsplit(self.path).path.rstrip("/"), b"")

    def _dispatch(self, routes: dict[str, Any], path: str, body: bytes) -> None:
        route = routes.get(path)
        try:
            if route is None:
                raise EmulatedError(404, f"no route {self.command} {path}")
            status, payload = 200, route(body)
        except EmulatedError as exc:
            status, payload = exc.status, {"status_code": exc.status, "message": exc.message}
        except Exception as exc:
            log.exception("emulator failed on %s %s", self.command, path)
            status, payload = 500, {"status_code": 500, "message": f"emulator error: {exc}"}
        try:
            self._send(status, payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (its timeout); nobody is left to answer

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json(self, body: bytes) -> dict[str, Any]:
        try:
            value = json.loads(body or b"{}")
        except ValueError:
            raise EmulatedError(400, "request body is not valid JSON") from None
        if not isinstance(value, dict):
            raise EmulatedError(400, "request body must be a JSON object")
        return value

    def _login(self, body: bytes) -> dict[str, Any]:
        state = self.server.state
        with state.lock:
            state.login_calls += 1
        credentials = self._json(body)
        if credentials.get("email") != state.email or credentials.get("password") != state.password:
            raise EmulatedError(401, "invalid email or password")
        token = secrets.token_urlsafe(32)
        with state.lock:
            state.tokens.add(token)
            state.issued.append(token)
        return {"data": {"access_token": token}, "status_code": 200}

    def _detect(self, body: bytes) -> dict[str, Any]:
        state = self.server.state
        sha256 = hashlib.sha256(body).hexdigest()
        with state.lock:
            state.arrivals.append((sha256, time.monotonic()))
            state.detect_calls += 1
            state.detect_calls_by_sha256[sha256] += 1
            latency_ms = state.latency_ms
        if latency_ms:
            state.stopping.wait(latency_ms / 1000)
        failure = state.take_failure(sha256)
        if failure is not None:
            raise EmulatedError(failure["status"], failure["message"])
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        with state.lock:
            authorized = scheme.lower() == "bearer" and token in state.tokens
        if not authorized:
            raise EmulatedError(401, "missing, unknown or revoked access token")
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "image/jpeg":
            raise EmulatedError(415, f"Content-Type must be image/jpeg, got {content_type or 'none'!r}")
        faces = faces_for(body)
        query = parse_qs(urlsplit(self.path).query)
        if query.get("demographics", ["false"])[0].lower() != "true":
            faces = [{k: v for k, v in item.items() if k != "demographics"} for item in faces]
        return {"data": faces, "status_code": 200}

    def _config(self, body: bytes) -> dict[str, Any]:
        try:
            self.server.state.configure(self._json(body))
        except ValueError as exc:
            raise EmulatedError(400, str(exc)) from None
        return {"status_code": 200}

    def _reset(self, body: bytes) -> dict[str, Any]:
        self.server.state.reset()
        return {"status_code": 200}

    def _stats(self, body: bytes) -> dict[str, Any]:
        return self.server.state.stats()

    def _arrivals(self, body: bytes) -> dict[str, Any]:
        with self.server.state.lock:
            return {"arrivals": [[sha, at] for sha, at in self.server.state.arrivals]}

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # stop() must not wait for handlers sleeping out a latency or idling on a kept-alive socket.
    block_on_close = False
    # The default backlog of 5 drops connections when a benchmark opens dozens at once.
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], state: _State, verbose: bool) -> None:
        self.state = state
        self.verbose = verbose
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut kept-alive connections so a stopped emulator really stops answering."""
        with self.connections_lock:
            connections = list(self.connections)
        for conn in connections:
            with contextlib.suppress(OSError):  # already closed by its peer
                conn.shutdown(socket.SHUT_RDWR)


class Emulator:
    """An in-process FaceCloud emulator serving from a daemon thread.

    ``port=0`` picks a free port; read the result from ``url``. Usable as a context manager.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        email: str = "user@example.com",
        password: str = "secret",
        latency_ms: int = 0,
        *,
        verbose: bool = False,
    ) -> None:
        self._address = (host, port)
        self._state = _State(email, password, latency_ms)
        self._verbose = verbose
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Emulator:
        self._state.stopping.clear()
        self._server = _Server(self._address, self._state, self._verbose)
        # A short poll interval keeps stop() fast: shutdown() waits for the loop's next turn.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="facecloud-emulator", daemon=True
        )
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        """The base URL without a path, e.g. ``http://127.0.0.1:40123``."""
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        """Stop serving; sleeping requests wake up and every open connection is cut."""
        if self._server is None:
            return
        self._state.stopping.set()
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def configure(self, **config: Any) -> None:
        """Same keys as ``POST /_emulator/config``: latency_ms, fail_next, revoke_tokens."""
        self._state.configure(config)

    def stats(self) -> dict[str, Any]:
        return self._state.stats()

    def issued_tokens(self) -> list[str]:
        with self._state.lock:
            return list(self._state.issued)

    def reset(self) -> None:
        self._state.reset()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.emulator", description="A FaceCloud emulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    parser.add_argument("--email", default=os.environ.get("FACECLOUD_EMAIL") or "user@example.com")
    parser.add_argument("--password", default=os.environ.get("FACECLOUD_PASSWORD") or "secret")
    parser.add_argument("--latency-ms", type=int, default=0, help="sleep before every detect answer")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    emulator = Emulator(
        args.host, args.port, args.email, args.password, args.latency_ms, verbose=args.verbose
    )
    emulator.start()
    print(f"facecloud emulator listening on {emulator.url}", flush=True)
    # A timed wait keeps the main thread returning to the interpreter, where signal handlers run.
    while not stop.wait(0.5):
        pass
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
