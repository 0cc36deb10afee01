"""The command line and the web page keep their own lists of statuses (neither may import the service):
each must say what the service's ``storage.statuses`` says, in the same order."""

from __future__ import annotations

import json
import re
from pathlib import Path

from facetasks_client import cli, show
from storage.statuses import FINAL, ImageStatus, TaskStatus

JS = Path(__file__).parent.parent / "api" / "static" / "js"


def _js_list(file: str, name: str) -> list[str]:
    """The array literal ``const NAME = [...]`` of a web page script."""
    found = re.search(rf"const {name} = (\[[^\]]*\]);", (JS / file).read_text())
    assert found, f"{file} no longer declares {name}"
    return json.loads(found.group(1))


def test_the_command_line_offers_the_task_statuses_and_waits_for_the_final_ones():
    assert list(cli.STATUSES) == [status.value for status in TaskStatus]
    assert list(show.FINAL) == [status.value for status in FINAL]


def test_the_web_page_filters_by_the_task_and_image_statuses_and_stops_polling_at_the_final_ones():
    assert _js_list("list.js", "STATUSES") == [status.value for status in TaskStatus]
    assert _js_list("task.js", "IMAGE_STATUSES") == [status.value for status in ImageStatus]
    assert _js_list("task.js", "FINAL") == [status.value for status in FINAL]
