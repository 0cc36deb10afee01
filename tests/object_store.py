"""An S3 server for the tests (moto's server mode, in a process of its own) and a TCP proxy in front
of it that a test can cut, as a network outage does: open connections reset, new ones refused."""

from __future__ import annotations

import socket
import sys
import threading
from contextlib import suppress
from pathlib import Path

import boto3

from service.processes import Child
from tests.harness import Restartable, answers, free_port, wait_until

START_S = 60
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "facetasks-test", "AWS_SECRET_ACCESS_KEY": "facetasks-test-secret",
               "AWS_REGION": "us-east-1"}


class S3Server:
    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = Child("s3", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                            log=log)

    def start(self) -> S3Server:
        self.server.start()
        wait_until(lambda: answers(f"{self.url}/moto-api/data.json"), START_S, "the S3 server start", self.server)
        return self

    def stop(self) -> None:
        self.server.stop(10)

    def client(self):  # type: ignore[no-untyped-def]
        return boto3.client("s3", endpoint_url=self.url, aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                            region_name=CREDENTIALS["AWS_REGION"])

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


class TcpProxy(Restartable):
    """Forwards 127.0.0.1:<port> to ``target``; ``down()`` takes the link down for the body of a ``with``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener: socket.socket | None = None

    def start(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._listener:
            # shutdown first: close alone leaves a socket blocked in accept() listening on Linux.
            with suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._open:
                _close(sock)
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed: cut or stopped
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    try:
        # A reset, as a broken link gives: the peer sees its connection fail at once.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
    except OSError:
        pass
