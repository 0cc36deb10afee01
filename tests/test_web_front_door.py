"""The front page as a front door, in headless Chromium against the real service: pick a folder (or
files) and one click creates the task named after it, uploads the photos with progress, lists what the
service turned down and starts the task; a large pick goes as ZIP batches; the page signs in with its
own form (never the browser's prompt); it fits a 360 px phone; a page address holding credentials is
explained, not reported as a silent service."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests import browser, web_pages
from tests.service_process import ServiceProcess
from tests.web_pages import (
    CREDENTIALS,
    DESKTOP_PX,
    PHONE_PX,
    all_css,
    by_css,
    open_front,
    pick,
    scroll_width,
    sign_in,
    task_id_of,
    task_status,
)
from tools.emulator_faces import face, make_jpeg

REASON = browser.unavailable()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

service = web_pages.service
page = web_pages.page


def placeholder_fits(driver: Any, selector: str) -> bool:
    """Whether the field's placeholder is shown whole (its text as wide as the room inside the field, or less)."""
    return driver.execute_script(
        """
        const field = document.querySelector(arguments[0]);
        const style = getComputedStyle(field);
        const context = document.createElement("canvas").getContext("2d");
        context.font = `${style.fontSize} ${style.fontFamily}`;
        const room = field.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        return context.measureText(field.placeholder).width <= room;
        """,
        selector,
    )


def holiday_folder(root: Path) -> Path:
    folder = root / "Holiday 2026"
    (folder / "day two").mkdir(parents=True)
    (folder / "beach.jpg").write_bytes(make_jpeg(90, 60, faces=[face(10, 8, 24, 24, "female", 31.0)]))
    (folder / "day two" / "dinner.jpg").write_bytes(make_jpeg(90, 60, faces=[face(40, 8, 24, 24, "male", 45.0)]))
    (folder / "notes.jpg").write_text("these are notes, not a photo")
    (folder / "readme.txt").write_text("a list of places")
    (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    return folder


def test_a_picked_folder_becomes_a_named_task_with_its_rejections_listed(
    page: Any, service: ServiceProcess, tmp_path: Path
) -> None:
    folder = holiday_folder(tmp_path)
    open_front(page, service.url + "/")
    assert by_css(page, "#file-input").get_attribute("multiple") is not None
    browser.viewport(page, PHONE_PX)
    assert scroll_width(page) <= PHONE_PX
    assert placeholder_fits(page, "#new-task-name")
    browser.screenshot(page, tmp_path / "front-empty-360.png", PHONE_PX)
    browser.screenshot(page, tmp_path / "front-empty-1400.png", DESKTOP_PX)
    pick(page, [folder], "#folder-input")
    browser.wait_for(lambda: by_css(page, "#new-task-name").get_attribute("value") == "Holiday 2026",
                     what="the task named after the folder")
    assert by_css(page, "#picked").text == "3 photos (" + by_css(page, "#picked").text.split("(")[1]
    assert "1 other file will be left out" in by_css(page, "#picked").text  # the .DS_Store is not even counted
    assert by_css(page, "#create-task").text == "Create task and upload 3 photos"
    by_css(page, "#new-task-name").send_keys(" (Nice)")  # the name can be changed before the task exists
    if by_css(page, "#start-at-once").is_selected():
        by_css(page, "#start-at-once").click()
    by_css(page, "#create-task").click()

    start = browser.wait_for(lambda: by_css(page, "#start-task"), what="the uploads to end")
    assert by_css(page, "#upload-summary").text == "2 photos uploaded · 3 of 3 uploads finished · 2 rejected"
    assert by_css(page, "#upload-progress").get_attribute("aria-valuenow") == "100"
    rows = {r.find_element("css selector", ".upload-name").text: r.get_attribute("data-state")
            for r in all_css(page, "#upload-rows li")}
    assert rows == {"beach.jpg": "done", "day two/dinner.jpg": "done", "notes.jpg": "error"}
    rejected = [li.text for li in all_css(page, "#rejected li")]
    assert rejected[0] == "readme.txt — Not sent: Only JPEG photos and ZIP or TAR archives of them are accepted."
    assert rejected[1].startswith("notes.jpg — Not a JPEG: ")
    assert by_css(page, "#rejected-head").text == "Rejected: 2 files"
    tasks = service.http.get(f"{service.url}/api/v1/tasks").json()["items"]
    assert [(t["name"], t["progress"]["total"]) for t in tasks] == [("Holiday 2026 (Nice)", 2)]
    names = sorted(i["name"] for i in service.task(tasks[0]["id"]).json()["images"])
    assert names == ["beach.jpg", "day two/dinner.jpg"]  # named by their path below the folder
    browser.screenshot(page, tmp_path / "front-uploaded-1400.png", DESKTOP_PX)
    # The task list below shows the new task without a reload.
    browser.wait_for(lambda: [r.text.split("\n")[0] for r in all_css(page, "#task-rows td:first-child")]
                     == ["Holiday 2026 (Nice)"], what="the new task in the list")
    browser.viewport(page, PHONE_PX)
    assert scroll_width(page) <= PHONE_PX
    browser.screenshot(page, tmp_path / "front-uploaded-360.png", PHONE_PX)
    browser.clear_viewport(page)

    start.click()
    open_task = browser.wait_for(lambda: all_css(page, "#started") and by_css(page, "#open-task"), what="the start")
    open_task.click()
    browser.wait_for(lambda: task_status(page) == "completed", timeout=60, what="the task to complete")
    assert page.title == "Holiday 2026 (Nice) · facetasks"
    # The browser logs the refused upload (415); nothing else went wrong in the page.
    assert all("status of 415" in e["message"] for e in browser.console_errors(page))


def test_start_at_once_is_remembered_and_goes_straight_to_the_running_task(
    page: Any, service: ServiceProcess, tmp_path: Path
) -> None:
    photos = []
    for index, gender in enumerate(["female", "male"]):
        photos.append(tmp_path / f"portrait-{index}.jpg")
        photos[-1].write_bytes(make_jpeg(64, 64, faces=[face(8, 8, 30, 30, gender, 30.0 + index)]))
    open_front(page, service.url + "/")
    if not by_css(page, "#start-at-once").is_selected():
        by_css(page, "#start-at-once").click()
    page.refresh()
    open_front(page, service.url + "/")
    assert by_css(page, "#start-at-once").is_selected()  # remembered in this browser

    pick(page, photos)
    assert by_css(page, "#new-task-name").get_attribute("value") == "portrait-0"  # the first file's name
    by_css(page, "#create-task").click()
    browser.wait_for(lambda: "/tasks/" in page.current_url and all_css(page, "#task-status"), what="the task page")
    browser.wait_for(lambda: task_status(page) == "completed", timeout=60, what="the task to complete")
    assert page.title == "portrait-0 · facetasks"
    assert service.task(task_id_of(page)).json()["progress"] == {"total": 2, "done": 2, "failed": 0}


def test_a_large_pick_goes_as_zip_batches_built_in_the_browser(
    page: Any, service: ServiceProcess, tmp_path: Path
) -> None:
    folder = tmp_path / "archive scans"
    folder.mkdir()
    count = 230  # more than one batch of 200
    for index in range(count):
        (folder / f"scan-{index:04}.jpg").write_bytes(make_jpeg(16, 16, color=(index % 256, 90, 200)))
    open_front(page, service.url + "/")
    if by_css(page, "#start-at-once").is_selected():
        by_css(page, "#start-at-once").click()
    pick(page, [folder], "#folder-input")
    browser.wait_for(lambda: by_css(page, "#create-task").text == f"Create task and upload {count} photos",
                     what="the picked folder")
    # The page keeps answering while it packs: the longest gap between timer ticks is recorded.
    page.execute_script("""
        window.longestGap = 0; let last = performance.now();
        window.ticking = setInterval(() => { const now = performance.now();
          window.longestGap = Math.max(window.longestGap, now - last); last = now; }, 20);""")
    by_css(page, "#create-task").click()
    browser.wait_for(lambda: all_css(page, "#start-task"), timeout=60, what="the batches to be sent")
    assert page.execute_script("clearInterval(window.ticking); return window.longestGap") < 500
    assert [r.find_element("css selector", ".upload-name").text for r in all_css(page, "#upload-rows li")] == [
        "Batch 1 of 2: 200 photos", "Batch 2 of 2: 30 photos"]
    assert by_css(page, "#upload-summary").text == f"{count} photos uploaded · 2 of 2 uploads finished"
    assert not all_css(page, "#rejected li")
    (task,) = service.http.get(f"{service.url}/api/v1/tasks").json()["items"]
    assert task["name"] == "archive scans" and task["progress"]["total"] == count
    names = service.http.get(f"{service.url}/api/v1/tasks/{task['id']}/images?page_size=1000").json()["items"]
    assert sorted(i["name"] for i in names) == [f"scan-{index:04}.jpg" for index in range(count)]
    browser.screenshot(page, tmp_path / "front-batches-1400.png", DESKTOP_PX)


def test_a_picked_zip_goes_as_it_is_and_its_rejected_members_are_listed(
    page: Any, service: ServiceProcess, tmp_path: Path
) -> None:
    archive = tmp_path / "Trip to Lyon.zip"
    with zipfile.ZipFile(archive, "w") as writer:
        writer.writestr("day 1/bridge.jpg", make_jpeg(50, 40, faces=[]))
        writer.writestr("day 1/cafe.jpg", make_jpeg(50, 40, faces=[face(4, 4, 20, 20, "female", 29.0)]))
        writer.writestr("day 1/itinerary.txt", "trains and times")
    open_front(page, service.url + "/")
    pick(page, [archive])
    assert by_css(page, "#new-task-name").get_attribute("value") == "Trip to Lyon"
    assert by_css(page, "#create-task").text == "Create task and upload 1 archive"
    by_css(page, "#create-task").click()
    browser.wait_for(lambda: by_css(page, "#upload-summary").text.endswith("1 of 1 upload finished · 1 rejected"),
                     timeout=30, what="the archive's upload")
    assert by_css(page, "#upload-summary").text.startswith("2 photos uploaded")
    (rejected,) = [li.text for li in all_css(page, "#rejected li")]
    assert rejected.startswith("day 1/itinerary.txt — ")  # the service's own reason follows
    (task,) = service.http.get(f"{service.url}/api/v1/tasks").json()["items"]
    assert (task["name"], task["progress"]["total"]) == ("Trip to Lyon", 2)


def test_the_page_signs_in_with_its_own_form_and_signs_out(page: Any, service: ServiceProcess, tmp_path: Path) -> None:
    key = service.http.post(f"{service.url}/api/v1/keys", json={"name": "browser"}).json()["key"]
    page.get(service.url + "/")
    # A Basic prompt would hold the page's requests; the form appears instead.
    browser.wait_for(lambda: by_css(page, "#signin-form").is_displayed(), what="the sign-in form")
    assert page.title == "Sign in · facetasks"
    # What keeps the browser's prompt away: the page's requests get their 401 without a challenge.
    # (A challenged request waits on the browser's prompt, which this browser leaves open: had the
    # page's requests been challenged, the form above would never have appeared.)
    challenge = page.execute_async_script("""
        fetch("/api/v1/tasks", { headers: { "X-Requested-With": "XMLHttpRequest" } })
          .then((r) => [r.status, r.headers.get("WWW-Authenticate")]).then(arguments[0]);""")
    assert challenge == [401, None]
    browser.console_errors(page)  # the refused request, asked for on purpose
    assert not all_css(page, "#task-list")
    browser.screenshot(page, tmp_path / "signin-1400.png", DESKTOP_PX)
    browser.viewport(page, PHONE_PX)
    assert scroll_width(page) <= PHONE_PX
    browser.screenshot(page, tmp_path / "signin-360.png", PHONE_PX)
    browser.clear_viewport(page)

    by_css(page, "#signin-user").send_keys(CREDENTIALS[0])
    by_css(page, "#signin-secret").send_keys("wrong")
    by_css(page, "#signin").click()
    browser.wait_for(lambda: by_css(page, "#signin-error").is_displayed(), what="the refusal")
    assert by_css(page, "#signin-error").text.startswith("That user name and password or key were not accepted.")
    by_css(page, "#signin-secret").clear()
    by_css(page, "#signin-user").clear()
    sign_in(page, "", key)  # an API key alone: sent as a Bearer token
    browser.wait_for(lambda: by_css(page, "#task-list").get_attribute("data-loaded"), what="the task list")
    stored = page.execute_script("return sessionStorage.getItem('facetasks.credentials')")
    assert key in stored and page.execute_script("return JSON.stringify(localStorage)").find(key) < 0
    assert by_css(page, "#signout").is_displayed()

    by_css(page, "#signout").click()
    browser.wait_for(lambda: by_css(page, "#signin-form").is_displayed(), what="the form after signing out")
    assert page.execute_script("return sessionStorage.getItem('facetasks.credentials')") is None
    sign_in(page)  # the bootstrap pair, as Basic
    browser.wait_for(lambda: by_css(page, "#task-list").get_attribute("data-loaded"), what="the task list again")


def test_an_address_with_credentials_is_explained(page: Any, service: ServiceProcess) -> None:
    address = service.url.replace("http://", f"http://{CREDENTIALS[0]}:secret@") + "/"
    page.get(address)
    error = browser.wait_for(lambda: by_css(page, "#error").is_displayed() and by_css(page, "#error"),
                             what="the error line")
    assert "opened with a user name and password in its address" in error.text
    assert f"Open {service.url}/ instead" in error.text
    assert "did not answer" not in error.text
    assert re.search(r"secret", error.text) is None  # the password is not repeated on the screen
