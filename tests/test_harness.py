"""tests.harness.wait_until: the one wait of tests and bench, and what it says when the wait ends in vain."""

from __future__ import annotations

import ast
import itertools
import sys
from pathlib import Path

import pytest

from service.processes import Child
from tests.harness import NotReady, wait_until

ROOT = Path(__file__).resolve().parent.parent
# The packages the image ships (the Dockerfile's COPY lines).
SERVICE_PACKAGES = ("config", "storage", "detectors", "reach", "representations", "actors", "api", "service")


def test_the_value_that_holds_is_returned_after_polling():
    values = iter([0, None, "", 7])

    assert wait_until(lambda: next(values), 5, "a number", poll_s=0.001) == 7


def test_until_judges_the_value_and_the_value_is_returned():
    bodies = ({"status": status} for status in ["queued", "processing", "completed"])

    assert wait_until(lambda: next(bodies), 5, "the end", poll_s=0.001,
                      until=lambda body: body["status"] == "completed") == {"status": "completed"}


def test_a_timeout_is_an_assertion_naming_what_the_timeout_and_the_last_value():
    counter = itertools.count()

    with pytest.raises(AssertionError) as raised:
        wait_until(lambda: {"seen": next(counter)}, 0.05, "ten calls", poll_s=0.01,
                   until=lambda value: value["seen"] >= 10_000)

    assert isinstance(raised.value, NotReady)
    message = str(raised.value)
    assert message.startswith("ten calls: not within 0.05 s; last value: {'seen': ")
    last = int(message.rsplit(": ", 1)[1].rstrip("}"))
    assert last >= 1  # looked at again after the first miss, and the very last look is shown


def test_a_long_last_value_is_cut_short():
    with pytest.raises(NotReady) as raised:
        wait_until(lambda: ["x" * 10_000], 0, "a short list", until=lambda value: False)

    assert len(str(raised.value)) < 1_000
    assert "characters)" in str(raised.value)


def test_a_condition_that_raises_stops_the_wait_at_once():
    calls = itertools.count(1)

    def broken() -> bool:
        next(calls)
        raise KeyError("status")

    with pytest.raises(KeyError):
        wait_until(broken, 5, "a broken condition", poll_s=0.001)
    assert next(calls) == 2  # called once, not polled for five seconds


def test_ignored_exceptions_mean_not_yet_and_the_last_one_is_shown():
    attempts = iter([LookupError("mid-rerender"), LookupError("mid-rerender"), "there"])

    def element() -> str:
        value = next(attempts)
        if isinstance(value, Exception):
            raise value
        return value

    assert wait_until(element, 5, "the element", poll_s=0.001, ignoring=(LookupError,)) == "there"

    def gone() -> str:
        raise LookupError("gone")

    with pytest.raises(NotReady, match=r"last value: LookupError\('gone'\)$"):
        wait_until(gone, 0, "an element", ignoring=(LookupError,))


def test_a_child_that_exits_ends_the_wait_at_once_with_its_log(tmp_path):
    log = tmp_path / "child.log"
    child = Child("early", [sys.executable, "-c", "print('bye'); raise SystemExit(3)"], log=log).start()
    try:
        with pytest.raises(NotReady, match=r"(?s)^waiting: early exited with 3\n.*bye"):
            wait_until(lambda: False, 30, "waiting", child, poll_s=0.01)
    finally:
        child.stop(1)


def test_no_service_module_imports_the_harness():
    importers = []
    for package in SERVICE_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                if any(name == "tests" or name.startswith("tests.") for name in names):
                    importers.append(str(path.relative_to(ROOT)))
    assert importers == []
