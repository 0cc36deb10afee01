"""A closed-loop HTTP load generator, run as a process of its own: ``python -m bench.load``.

``--threads`` threads each send one request after another (GET of a task, or an upload) until
``--duration`` seconds have passed or ``--max-requests`` were sent, and the latency of every
request is recorded. Prints (or writes to ``--out``) one JSON object: requests, errors, seconds,
requests/s and latency percentiles in ms.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests

PERCENTILES = (50, 95, 99)


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return 0.0
    return sorted_values[max(0, math.ceil(p / 100 * len(sorted_values)) - 1)]


def summarize(latencies_ms: list[float], seconds: float, errors: int) -> dict[str, Any]:
    values = sorted(latencies_ms)
    summary: dict[str, Any] = {
        "requests": len(values),
        "errors": errors,
        "seconds": round(seconds, 3),
        "requests_per_s": round(len(values) / seconds, 1) if seconds else 0.0,
        "mean_ms": round(sum(values) / len(values), 2) if values else 0.0,
        "max_ms": round(values[-1], 2) if values else 0.0,
    }
    for p in PERCENTILES:
        summary[f"p{p}_ms"] = round(percentile(values, p), 2)
    return summary


class Load:
    def __init__(self, url: str, kind: str, body: bytes, threads: int, duration_s: float, max_requests: int) -> None:
        self.url, self.kind, self.body = url, kind, body
        self.threads, self.duration_s, self.max_requests = threads, duration_s, max_requests
        self.lock = threading.Lock()
        self.sent = 0
        self.errors = 0
        self.latencies: list[float] = []

    def _take(self) -> bool:
        with self.lock:
            if self.sent >= self.max_requests:
                return False
            self.sent += 1
            return True

    def _request(self, session: requests.Session, n: int) -> requests.Response:
        if self.kind == "get":
            return session.get(self.url, timeout=60)
        return session.post(self.url, params={"name": f"load-{n}.jpg"}, data=self.body,
                            headers={"Content-Type": "image/jpeg"}, timeout=60)

    def _loop(self, deadline: float) -> None:
        session = requests.Session()
        mine: list[float] = []
        errors = n = 0
        while time.monotonic() < deadline and self._take():
            n += 1
            started = time.perf_counter()
            try:
                response = self._request(session, n)
                response.content  # noqa: B018 - read the whole body, as a client does
                ok = response.status_code < 400
            except requests.RequestException:
                ok = False
            if ok:
                mine.append((time.perf_counter() - started) * 1000)
            else:
                errors += 1
        with self.lock:
            self.latencies += mine
            self.errors += errors

    def run(self) -> dict[str, Any]:
        started = time.monotonic()
        deadline = started + self.duration_s
        workers = [threading.Thread(target=self._loop, args=(deadline,)) for _ in range(self.threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        summary = summarize(self.latencies, time.monotonic() - started, self.errors)
        summary["threads"] = self.threads
        return summary


def run_in_process(url: str, kind: str, threads: int, duration_s: float, max_requests: int,
                   body_file: Path | None = None) -> dict[str, Any]:
    """Run the load generator in a separate Python process; return its summary."""
    command = [sys.executable, "-m", "bench.load", "--url", url, "--kind", kind, "--threads", str(threads),
               "--duration", str(duration_s), "--max-requests", str(max_requests)]
    if body_file is not None:
        command += ["--body-file", str(body_file)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration_s + 120, check=False,
                          cwd=Path(__file__).resolve().parent.parent)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="only 127.0.0.1 / localhost URLs are accepted")
    parser.add_argument("--kind", choices=("get", "upload"), default="get")
    parser.add_argument("--body-file", type=Path, help="the JPEG to upload (kind upload)")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if not args.url.startswith(("http://127.0.0.1:", "http://localhost:")):
        parser.error("the load generator only talks to 127.0.0.1")
    if args.kind == "upload" and args.body_file is None:
        parser.error("--kind upload needs --body-file")
    body = args.body_file.read_bytes() if args.body_file else b""
    summary = Load(args.url, args.kind, body, args.threads, args.duration, args.max_requests).run()
    text = json.dumps(summary)
    if args.out:
        args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
