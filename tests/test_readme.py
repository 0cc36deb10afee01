"""The examples of the README and of the docs it sends a newcomer to, run as written against the service.

Every ```sh block that is followed by a ```text block is run with bash (``-e -o pipefail``: a failing
``curl -f`` fails the example) in a folder that has the repository's ``.venv`` and ``tests`` at hand, with
http://127.0.0.1:8080 replaced by the test service's address (also given as FACETASKS_URL); what it
prints on stdout must be the text block, where ``…`` stands for anything on that line (an id, a time).
The service is the real one (``python -m service.run``) with the default local detector.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, service_env
from tests.service_process import ServiceProcess, serving
from tests.testbed import client_env

DOCUMENTS = ("README.md", "docs/cli.md", "docs/api.md")
DEFAULT_URL = "http://127.0.0.1:8080"
EXAMPLE = re.compile(r"```sh\n(?P<script>[^`]*)```\n\s*```text\n(?P<output>[^`]*)```")
VENV = Path(sys.executable).parent.parent


def examples() -> list[tuple[str, int, str, str]]:
    """(document, line, script, the output shown) of every example with a shown output, in order."""
    found = []
    for document in DOCUMENTS:
        text = (ROOT / document).read_text()
        for match in EXAMPLE.finditer(text):
            found.append((document, text.count("\n", 0, match.start()) + 1, match["script"], match["output"]))
    return found


def matches(shown: str, printed: str) -> bool:
    pattern = "\n".join(".*?".join(map(re.escape, line.split("…"))) for line in shown.split("\n"))
    return re.fullmatch(pattern, printed) is not None


@pytest.fixture(scope="module")
def service(database, vhost, storage_dir, emulator, tmp_path_factory) -> Iterator[ServiceProcess]:
    env = service_env(storage_dir, emulator, DETECTOR="local", WORKER_PROCESSES="1", WORKER_THREADS="2")
    with serving(env, tmp_path_factory.mktemp("readme")) as running:
        yield running


def test_the_readme_and_the_docs_show_examples_with_their_output():
    assert {document for document, *_ in examples()} == set(DOCUMENTS)


@pytest.mark.parametrize(("document", "line", "script", "shown"), examples(),
                         ids=[f"{d}:{n}" for d, n, *_ in examples()])
def test_an_example_prints_what_the_docs_show(service, tmp_path, document, line, script, shown):
    (tmp_path / ".venv").symlink_to(VENV)
    (tmp_path / "tests").symlink_to(ROOT / "tests")
    env = client_env(FACETASKS_URL=service.url)

    ran = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script.replace(DEFAULT_URL, service.url)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    assert ran.returncode == 0, f"{document}:{line} failed:\n{ran.stderr}"
    assert matches(shown, ran.stdout), f"{document}:{line} printed:\n{ran.stdout}"


def test_every_link_of_the_readme_and_the_docs_leads_to_a_file_of_the_repository():
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    links = [(document, target) for document in documents
             for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", document.read_text())
             if "://" not in target]

    assert links
    assert [(d.name, t) for d, t in links if not (d.parent / t).resolve().is_file()] == []
