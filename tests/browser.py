"""Headless Chromium (Debian's ``chromium`` + ``chromium-driver``) driven by selenium, for the browser tests."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.harness import wait_until

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# Where the lead (or a developer) finds the screenshots of the last run, beside each test's own copy
# (test-artifacts/ in the work tree, ignored by git).
SCREENSHOT_DIR = Path("/tmp/facetasks-screenshots")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
WINDOW = (1280, 1000)
CHROME_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
    "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
)


def unavailable() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            return f"{path} is missing: apt-get install chromium chromium-driver"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed: pip install selenium"
    return None


def chrome(credentials: tuple[str, str] | None = None) -> Any:
    """A fresh headless Chromium with its own profile; answers HTTP Basic challenges with
    ``credentials`` the way a person types them into the browser's prompt."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROME_FLAGS, f"--user-data-dir={tempfile.mkdtemp(prefix='facetasks-chrome-')}",
                 f"--window-size={WINDOW[0]},{WINDOW[1]}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.enable_bidi = True  # for the auth handler
    # Leave confirm() dialogs to the test (BiDi sessions would otherwise dismiss them at once).
    options.unhandled_prompt_behavior = "ignore"
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    if credentials:
        driver.network.add_auth_handler(*credentials)
    return driver


def select(element: Any, value: str) -> None:
    from selenium.webdriver.support.select import Select

    Select(element).select_by_value(value)


def accept_dialog(driver: Any) -> str:
    """Accept the page's confirm() dialog; return its text."""
    alert = wait_for(lambda: driver.switch_to.alert, 5, "a dialog")
    text = alert.text
    alert.accept()
    return text


def console_errors(driver: Any) -> list[dict[str, Any]]:
    """Errors logged in the page since the last call: script errors, failed loads, console.error."""
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def wait_for(condition: Callable[[], Any], timeout: float = 20, what: str = "the page") -> Any:
    # An element mid-rerender (an exception) is simply not there yet.
    return wait_until(condition, timeout, what, poll_s=0.1, ignoring=(Exception,))


def screenshot(driver: Any, path: Path, width: int | None = None) -> Path:
    """The whole page as a PNG at ``path`` (``width`` CSS pixels wide, as a phone's screen when
    small), copied to SCREENSHOT_DIR and ARTIFACTS under the same name."""
    if width is not None:
        viewport(driver, width)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    if width is not None:
        viewport(driver, width, max(WINDOW[1], height))
    else:
        driver.set_window_size(WINDOW[0], max(WINDOW[1], height + 140))  # + the window's own frame
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    if width is not None:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    driver.set_window_size(*WINDOW)
    for folder in (SCREENSHOT_DIR, ARTIFACTS):
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder / path.name)
    return path


def viewport(driver: Any, width: int, height: int = WINDOW[1]) -> None:
    """Lay the page out as a screen ``width`` CSS pixels wide (a phone at 360), whatever the
    window's own minimum size; ``clear_viewport`` undoes it."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


def clear_viewport(driver: Any) -> None:
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def downloads_to(driver: Any, folder: Path) -> None:
    """Save the page's downloads into ``folder`` without asking."""
    folder.mkdir(parents=True, exist_ok=True)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})
