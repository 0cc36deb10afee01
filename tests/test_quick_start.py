"""The README's quick start as a newcomer follows it: a clone of the repository, `make run` (on free ports,
creating its own database), the command line on a folder of the test photos, the CSV read back.

The clone is given the suite's own virtualenv (``make run VENV=…``: the same pyproject.toml, so the
install step finds it done) instead of installing every dependency again; everything else is the clone's,
and the test checks that the virtualenv still runs the suite's own command line afterwards (and holds none of
the service's packages: the service runs from the clone's tree).
"""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.procs import children
from config.settings import without_settings
from service.processes import Child
from tests.conftest import RABBITMQ_URL, ROOT
from tests.harness import answers, free_port, wait_until
from tests.testbed import drop_database

VENV = Path(sys.executable).parent.parent
DATABASE = f"facetasks_quick_start_{os.getpid()}"
START_S = 90


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """The name of a database that does not exist yet (make run creates it), dropped afterwards."""
    yield DATABASE
    drop_database(DATABASE)


def test_a_fresh_clone_runs_with_make_run_and_the_cli_turns_the_test_photos_into_a_csv(
    vhost, fresh_database, tmp_path
):
    clone = tmp_path / "facetasks"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=60)
    # make compares times: a pyproject.toml (the service's or the client's) or lock newer than the virtualenv's
    # stamp would reinstall the packages, pointing the suite's virtualenv at this temporary clone.
    stamp = max(VENV.glob(".installed-*"), key=lambda path: path.stat().st_mtime)
    for name in ("pyproject.toml", "client/pyproject.toml", "requirements.lock"):
        os.utime(clone / name, (stamp.stat().st_mtime - 1,) * 2)
    port = free_port()
    env = {**without_settings(os.environ), "PORT": str(port), "RABBITMQ_URL": RABBITMQ_URL,
           "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{fresh_database}",
           "WORKER_PROCESSES": "1", "dramatiq_prom_port": str(free_port())}
    make = Child("make run", ["make", "run", f"VENV={VENV}"], env, log=tmp_path / "make-run.log", cwd=clone).start()
    try:
        wait_until(lambda: answers(f"http://127.0.0.1:{port}/health"), START_S, "make run", make)
        cli = subprocess.run([str(VENV / "bin" / "facetasks"), "--url", f"http://127.0.0.1:{port}", "analyze",
                              "tests/fixtures", "--wait", "--csv", "faces.csv"],
                             cwd=clone, capture_output=True, text=True, timeout=180)
    finally:
        supervisor = children(make.pid)
        for pid in supervisor:  # Ctrl-C as the terminal sends it to `make run`'s supervisor
            os.kill(pid, signal.SIGINT)
        stopped = make.wait(60)
        make.kill()

    assert cli.returncode == 0, cli.stderr
    rows = list(csv.DictReader(io.StringIO((clone / "faces.csv").read_text(encoding="utf-8-sig"), newline="")))
    assert [(r["image_name"], r["status"], r["gender"]) for r in rows] == [
        ("astronaut-1080p.jpg", "done", "female"), ("astronaut.jpg", "done", "female"), ("no-face.jpg", "done", ""),
    ]
    assert "created database " + fresh_database in (tmp_path / "make-run.log").read_text()
    assert stopped == 0
    # Outside a tree the virtualenv has the command line (still the suite's own) and none of the service's packages.
    installed = subprocess.run([sys.executable, "-c", "import importlib.util, facetasks_client; "
                                "print(facetasks_client.__file__, importlib.util.find_spec('api'))"], cwd=tmp_path,
                               capture_output=True, text=True, check=True).stdout.split()
    assert installed == [str(ROOT / "client" / "facetasks_client" / "__init__.py"), "None"]
