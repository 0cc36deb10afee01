"""What the web page tests share: the service behind credentials, a fresh browser per test, signing in
through the page's own form, and the checks a person would make at a glance (nothing scrolls sideways)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import browser
from tests.conftest import service_env
from tests.service_process import ServiceProcess

CREDENTIALS = ("viewer", "correct horse battery")
PHONE_PX = 360
DESKTOP_PX = 1400


def start_service(storage_dir: Path, emulator: Any, log_folder: Path, **extra: str) -> ServiceProcess:
    env = service_env(storage_dir, emulator, API_USERNAME=CREDENTIALS[0], API_PASSWORD=CREDENTIALS[1],
                      WORKER_PROCESSES="1", WORKER_THREADS="4", **extra)
    running = ServiceProcess(env, log_folder / "service.log").start()
    running.http.auth = CREDENTIALS
    return running


@pytest.fixture(scope="module")
def service(database: None, vhost: str, storage_dir: Path, emulator: Any, tmp_path_factory) -> Iterator[ServiceProcess]:
    running = start_service(storage_dir, emulator, tmp_path_factory.mktemp("service"))
    yield running
    running.stop()


@pytest.fixture
def page(service: ServiceProcess, fresh_emulator: Any, clean_db: None) -> Iterator[Any]:
    # No answer to Basic challenges: a prompt would be a failure of the page (it signs in by its form).
    driver = browser.chrome()
    yield driver
    driver.quit()


def by_css(driver: Any, selector: str) -> Any:
    return driver.find_element("css selector", selector)


def all_css(driver: Any, selector: str) -> list[Any]:
    return driver.find_elements("css selector", selector)


def sign_in(driver: Any, user: str = CREDENTIALS[0], secret: str = CREDENTIALS[1]) -> None:
    """Fill in the page's sign-in form and wait until the page it stood in for is back."""
    browser.wait_for(lambda: by_css(driver, "#signin-form").is_displayed(), what="the sign-in form")
    by_css(driver, "#signin-user").clear()
    by_css(driver, "#signin-user").send_keys(user)
    by_css(driver, "#signin-secret").send_keys(secret)
    by_css(driver, "#signin").click()
    browser.wait_for(lambda: not all_css(driver, "#signin-form"), what="the page after signing in")
    browser.console_errors(driver)  # the first, refused request is logged by the browser: not the page's fault


def open_front(driver: Any, url: str) -> None:
    """The front page, signed in (by the form when this tab has not signed in yet)."""
    driver.get(url)
    browser.wait_for(lambda: all_css(driver, "#signin-form")
                     or by_css(driver, "#task-list").get_attribute("data-loaded"), what="the front page or sign-in")
    if all_css(driver, "#signin-form"):
        sign_in(driver)
    browser.wait_for(lambda: by_css(driver, "#task-list").get_attribute("data-loaded"), what="the task list")


def pick(driver: Any, files: list[Path], selector: str = "#file-input") -> None:
    """Pick ``files`` with the page's file input, as the file chooser (or a drop) hands them over."""
    by_css(driver, selector).send_keys("\n".join(str(f) for f in files))


def scroll_width(driver: Any) -> int:
    return driver.execute_script("return document.documentElement.scrollWidth")


def task_id_of(driver: Any) -> str:
    return driver.current_url.rsplit("/", 1)[1]


def task_status(driver: Any) -> str:
    return by_css(driver, "#task-status .badge").text
