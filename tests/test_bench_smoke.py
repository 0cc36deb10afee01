"""The benchmark harness runs end to end: one tiny throughput scenario on a stack of its own.

A smoke test only: it checks that the JSON is written with its keys and that the harness cleans up
its database and vhost, never how fast anything was (speed is ``make bench``'s business).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

ROOT = Path(__file__).resolve().parent.parent
NAME = f"facetasks_bench_smoke_{os.getpid()}"


@pytest.mark.timeout(300)
def test_bench_writes_its_results_and_cleans_up(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "bench", "--quick", "--only", "throughput", "--images", "30",
               "--name", NAME, "--out", str(tmp_path)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=280, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    [result_file] = tmp_path.glob("*.json")
    results = json.loads(result_file.read_text())
    assert results["mode"] == "quick"
    assert {"started_at", "machine", "sizes", "scenarios", "total_seconds"} <= set(results)
    runs = results["scenarios"]["throughput"]["runs"]
    assert [r["concurrency"] for r in runs] == [8, 16, 32]
    for run in runs:
        assert {"images", "images_per_s", "limit_images_per_s", "ratio", "upload_images_per_s",
                "cpu_ms_per_image"} <= set(run)
        assert run["images_done"] == run["images"] > 0
    assert "throughput" in done.stdout  # the printed table

    conn = psycopg2.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (NAME,))
            assert cur.fetchone()[0] == 0
    finally:
        conn.close()
    vhosts = subprocess.run(["rabbitmqctl", "-q", "list_vhosts"], capture_output=True, text=True, timeout=60)
    assert NAME not in vhosts.stdout.split()
