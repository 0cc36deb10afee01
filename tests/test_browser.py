"""A person's whole job in a real browser (headless Chromium), against the whole service as ``make run``
starts it, behind credentials (signed in by the page's own form), with the FaceCloud emulator as the detector.

Photos are real (``tests/fixtures``). The emulator answers ``astronaut.jpg`` with the face labelled in
``labels.json`` (a ``facecloud:`` comment in the upload says so) and the others with faces derived from
their bytes; the page is checked against whatever the task JSON then says.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests import browser, web_pages
from tests.conftest import ROOT
from tests.service_process import ServiceProcess
from tests.web_pages import all_css, by_css, open_front, task_status
from tools.emulator_faces import DIRECTIVE_PREFIX, face, make_jpeg

service = web_pages.service
page = web_pages.page

REASON = browser.unavailable()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

FIXTURES = ROOT / "tests" / "fixtures"
# Rendered boxes may differ from bbox times scale by sub-pixel rounding and the browser's layout snapping.
TOLERANCE_PX = 1.5


def with_faces(jpeg: bytes, faces: list[dict[str, Any]]) -> bytes:
    """``jpeg`` with a comment segment telling the emulator which faces to answer (the picture is unchanged)."""
    payload = DIRECTIVE_PREFIX + json.dumps(faces).encode()
    return jpeg[:2] + b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload + jpeg[2:]


def labelled_astronaut(folder: Path) -> Path:
    (label,) = json.loads((FIXTURES / "labels.json").read_text())["astronaut.jpg"]
    x, y, w, h = label["bbox"]
    path = folder / "astronaut.jpg"
    path.write_bytes(with_faces((FIXTURES / "astronaut.jpg").read_bytes(), [face(x, y, w, h, "female", 42.3)]))
    return path


open_list = open_front


def drop_file(driver: Any, name: str, data: bytes) -> None:
    """Drop a file on the drop zone as a drag from the desktop would (a drop event carrying the File)."""
    driver.execute_script(
        """
        const bytes = Uint8Array.from(atob(arguments[1]), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], arguments[0], { type: "image/jpeg" }));
        const zone = document.getElementById("dropzone");
        for (const type of ["dragenter", "dragover", "drop"]) {
          zone.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
        }
        """,
        name, base64.b64encode(data).decode(),
    )


def stage_and_upload(driver: Any, files: list[Path], names: dict[int, str] | None = None) -> None:
    """Pick ``files`` (after any already staged), rename some by their row, upload them all."""
    staged = len(all_css(driver, "#staged li"))
    by_css(driver, "#file-input").send_keys("\n".join(str(f) for f in files))
    rows = browser.wait_for(lambda: len(all_css(driver, "#staged li")) == staged + len(files)
                            and all_css(driver, "#staged li"), what="the picked files")
    for index, name in (names or {}).items():
        field = rows[index].find_element("css selector", ".staged-name")
        field.clear()
        field.send_keys(name)
    by_css(driver, "#upload-all").click()
    browser.wait_for(lambda: not all_css(driver, "#staged li[data-state=busy]")
                     and by_css(driver, "#upload-all").text != "Uploading…", what="the uploads")


def drawn_boxes(driver: Any, image_id: str) -> dict[str, Any]:
    """The image's rendered rectangle and natural size, and every face box's rectangle and label."""
    return driver.execute_script(
        """
        const card = document.querySelector(`[data-image-id="${arguments[0]}"]`);
        const img = card.querySelector("img.photo");
        const rect = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; };
        return {
          img: rect(img), natural: [img.naturalWidth, img.naturalHeight],
          boxes: [...card.querySelectorAll(".face-box")].map((b) => ({
            rect: rect(b), label: card.querySelector(`.face-label[data-index="${b.dataset.index}"]`).textContent })),
        };
        """,
        image_id,
    )


def assert_boxes_match(driver: Any, image: dict[str, Any]) -> int:
    card = by_css(driver, f'[data-image-id="{image["id"]}"]')
    driver.execute_script("arguments[0].scrollIntoView()", card)  # images load lazily
    browser.wait_for(lambda: card.get_attribute("data-boxes-drawn") == str(len(image["faces"])),
                     what=f"the boxes of {image['name']}")
    drawn = drawn_boxes(driver, image["id"])
    left, top, width, height = drawn["img"]
    scale_x, scale_y = width / drawn["natural"][0], height / drawn["natural"][1]
    assert len(drawn["boxes"]) == len(image["faces"])
    for box, f in zip(drawn["boxes"], image["faces"], strict=True):
        b = f["bbox"]
        expected = [left + b["x"] * scale_x, top + b["y"] * scale_y, b["width"] * scale_x, b["height"] * scale_y]
        assert box["rect"] == pytest.approx(expected, abs=TOLERANCE_PX), (image["name"], f, box)
        assert box["label"] == f"{f['gender']} · {int(f['age'] + 0.5)}"
    return len(drawn["boxes"])


def test_a_person_does_the_whole_job(page: Any, service: ServiceProcess, tmp_path: Path) -> None:
    photos = [labelled_astronaut(tmp_path), FIXTURES / "astronaut-1080p.jpg", FIXTURES / "no-face.jpg"]
    open_list(page, service.url + "/")
    by_css(page, "#new-task-name").send_keys("Crew portraits")
    by_css(page, "#create-task").click()
    browser.wait_for(lambda: "/tasks/" in page.current_url and by_css(page, "#task-name"), what="the new task")
    task_id = page.current_url.rsplit("/", 1)[1]
    assert by_css(page, "#task-name").text == "Crew portraits"
    assert by_css(page, "#start").get_attribute("disabled") is not None  # nothing to start yet

    stage_and_upload(page, photos, names={0: "Eileen Collins"})
    browser.wait_for(lambda: len(all_css(page, ".image-card")) == 3, what="three image cards")
    # Uploads run a few at a time, so the task's (upload) order may differ from the list's.
    assert sorted(i["name"] for i in service.task(task_id).json()["images"]) == [
        "Eileen Collins", "astronaut-1080p.jpg", "no-face.jpg"]

    by_css(page, "#start").click()
    browser.wait_for(lambda: task_status(page) == "completed", timeout=60, what="the task to complete")
    task = service.task(task_id).json()
    assert task["status"] == "completed"
    boxes = sum(assert_boxes_match(page, image) for image in task["images"])
    assert boxes == task["statistics"]["total_faces"] >= 1
    page.set_window_size(720, 900)  # the boxes follow the image to its new scale
    assert sum(assert_boxes_match(page, image) for image in task["images"]) == boxes
    page.set_window_size(*browser.WINDOW)
    numbers = [dd.text for dd in all_css(page, "#stats-numbers dd")]
    stats = task["statistics"]
    assert numbers[:3] == [str(stats["total_faces"]), str(stats["total_males"]), str(stats["total_females"])]
    assert float(numbers[4]) == pytest.approx(stats["mean_age_female"], abs=0.051)  # shown to one decimal
    assert all_css(page, "#stats-chart rect")
    assert by_css(page, "#progress-text").text == "3 of 3 images done"
    assert not all_css(page, "#start") and not all_css(page, "#retry") and not all_css(page, "#upload:not([hidden])")
    browser.screenshot(page, tmp_path / "task-completed.png")

    by_css(page, "#delete").click()
    assert "Delete “Crew portraits” with its 3 images" in browser.accept_dialog(page)
    browser.wait_for(lambda: by_css(page, "#task-list").get_attribute("data-loaded"), what="the list after delete")
    assert "Deleted “Crew portraits”" in by_css(page, "#notice").text
    assert service.task(task_id).status_code == 404
    assert browser.console_errors(page) == []


def test_failures_are_shown_and_retried_and_the_list_pages(
    page: Any, service: ServiceProcess, fresh_emulator: Any, tmp_path: Path
) -> None:
    bad = tmp_path / "scan.jpg"
    bad.write_bytes(make_jpeg(80, 60, error="bad image: unsupported scan"))
    not_jpeg = tmp_path / "notes.jpg"
    not_jpeg.write_text("these are notes, not a photo")
    open_list(page, service.url + "/")
    by_css(page, "#create-task").click()
    browser.wait_for(lambda: "/tasks/" in page.current_url and by_css(page, "#task-name"), what="the new task")
    task_id = page.current_url.rsplit("/", 1)[1]
    assert by_css(page, "#task-name").text == "Untitled task"

    drop_file(page, "dropped.jpg", make_jpeg(72, 48, faces=[face(8, 6, 20, 20, "male", 35.5)]))
    stage_and_upload(page, [bad, not_jpeg])
    (row,) = all_css(page, "#staged li")  # the failed upload stays, with its reason beside its name
    assert row.find_element("css selector", ".staged-name").get_attribute("value") == "notes.jpg"
    assert row.find_element("css selector", ".state").text.startswith("Not a JPEG:")
    errors = browser.console_errors(page)
    assert len(errors) == 1 and "status of 415" in errors[0]["message"]  # the browser logs the refused upload

    by_css(page, "#start").click()
    browser.wait_for(lambda: task_status(page) == "failed", timeout=60, what="the task to fail")
    task = service.task(task_id).json()
    assert sorted((i["name"], i["status"]) for i in task["images"]) == [("dropped.jpg", "done"), ("scan.jpg", "failed")]
    assert "bad image: unsupported scan" in by_css(page, ".image-error").text
    assert by_css(page, "#progress-text").text == "1 of 2 images done · 1 failed"
    browser.screenshot(page, tmp_path / "task-failed.png")
    browser.select(by_css(page, "#image-filter"), "failed")  # a page of the failed images only
    browser.wait_for(lambda: [c.get_attribute("data-status") for c in all_css(page, ".image-card")] == ["failed"],
                     what="the failed images")
    assert by_css(page, "#images-info").text == "1\u20131 of 1 image · page 1 of 1"
    browser.select(by_css(page, "#image-filter"), "")
    browser.wait_for(lambda: len(all_css(page, ".image-card")) == 2, what="every image again")
    assert fresh_emulator.stats()["detect_calls"] == 2
    by_css(page, "#retry").click()
    # Only the failed image goes to the detector again.
    browser.wait_for(lambda: fresh_emulator.stats()["detect_calls"] == 3 and task_status(page) == "failed"
                     and service.task(task_id).json()["status"] == "failed", timeout=60, what="the retry to end")
    assert all_css(page, "#retry") and not all_css(page, "#start")

    for index in range(11):
        service.api.create_task(f"batch {index:02}")
    open_list(page, service.url + "/")
    assert by_css(page, "#page-info").text == "Page 1 of 2 · 12 tasks"
    assert len(all_css(page, "#task-rows tr")) == 10
    browser.screenshot(page, tmp_path / "task-list.png")
    by_css(page, "#next-page").click()
    browser.wait_for(lambda: by_css(page, "#page-info").text.startswith("Page 2"), what="page 2")
    assert [r.text.split("\n")[0] for r in all_css(page, "#task-rows td:first-child")] == ["batch 00", "Untitled task"]
    browser.select(by_css(page, "#status-filter"), "failed")
    browser.wait_for(lambda: by_css(page, "#page-info").text == "Page 1 of 1 · 1 task", what="the failed filter")
    assert by_css(page, "#task-rows tr").get_attribute("data-task-id") == task_id
    browser.screenshot(page, tmp_path / "task-list-failed.png")
    assert browser.console_errors(page) == []


def test_the_api_reference_renders_offline(page: Any, service: ServiceProcess, tmp_path: Path) -> None:
    page.get(service.url + "/docs")
    operations = sum(len([m for m in item if m != "parameters"]) for item in service.http.get(
        f"{service.url}/openapi.json").json()["paths"].values())
    browser.wait_for(lambda: len(all_css(page, ".opblock")) == operations, what="Swagger UI's operations")
    loaded = page.execute_script("return performance.getEntriesByType('resource').map((e) => e.name)")
    assert loaded and all(url.startswith(service.url) for url in loaded), loaded
    browser.screenshot(page, tmp_path / "api-reference.png")
    assert browser.console_errors(page) == []
