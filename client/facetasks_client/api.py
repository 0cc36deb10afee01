"""The REST API as the command line uses it: requests, with retries of what may pass by itself.

Connection errors and 503 (a dependency of the service restarting) are retried with exponential
backoff, ``RETRIES`` times over about half a minute, each retry announced on stderr; a host name that
does not resolve is not retried. Every other error is raised at once as an ``ApiError`` carrying the
API's own ``title`` and ``description`` (a 401 adds which options give credentials).
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from typing import Any, BinaryIO
from urllib.parse import quote, urlsplit

import requests

RETRIES = 6
FIRST_BACKOFF_S = 0.5
TIMEOUT_S = (5, 300)
WHERE = "--url or FACETASKS_URL"
# What a failed name lookup says, from urllib3's NameResolutionError or the resolver itself.
_UNKNOWN_HOST = ("NameResolutionError", "Name or service not known", "No address associated",
                 "Temporary failure in name resolution", "nodename nor servname")


class ApiError(Exception):
    """The API answered an error (or could not be reached); the message is its description."""

    def __init__(self, status: int, title: str, description: str) -> None:
        super().__init__(description)
        self.status, self.title, self.description = status, title, description


def service_root(url: str) -> str:
    """The service's address as people write it: ``127.0.0.1:8080`` is http://127.0.0.1:8080, and the
    API's own prefix (``…/api/v1``, as FACETASKS_URL might be copied from the docs) is the service's root."""
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    url = url.rstrip("/")
    for suffix in ("/api/v1", "/api"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
    return url


def _reason(error: requests.RequestException) -> str:
    """The operating system's words (``Connection refused``) without urllib3's object dumps."""
    found = re.findall(r"\[Errno -?\d+\] ([^'\")\]]+)", str(error))
    if found:
        return found[-1].strip()
    return "timed out" if isinstance(error, requests.Timeout) else type(error).__name__


class Api:
    def __init__(self, url: str, auth: tuple[str, str] | None = None, key: str | None = None) -> None:
        """``key``, an API key (ft_…), is sent as a Bearer token; otherwise ``auth`` as Basic credentials."""
        self.root = service_root(url)
        self.base = self.root + "/api/v1"
        self.http = requests.Session()
        if key:
            self.http.headers["Authorization"] = f"Bearer {key}"
        else:
            self.http.auth = auth

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """The response of a successful call; retries connection errors and 503, raises ``ApiError``."""
        body = kwargs.get("data")
        for attempt in range(RETRIES + 1):
            if hasattr(body, "seek"):
                body.seek(0)
            try:
                response = self.http.request(method, self.base + path, timeout=TIMEOUT_S, **kwargs)
            except requests.ConnectionError as error:
                if any(words in str(error) for words in _UNKNOWN_HOST):
                    raise ApiError(0, "Unknown host", f"cannot find the host {urlsplit(self.root).hostname} "
                                   f"of {self.root}; give the service's address with {WHERE}") from None
                what = f"{self.root} does not answer ({_reason(error)})"
                if attempt == RETRIES:
                    raise ApiError(0, "No answer", f"{what}; is the service running (make run)? "
                                   f"Give its address with {WHERE}") from None
            except requests.RequestException as error:
                raise ApiError(0, "Bad address", f"cannot call {self.base + path}: {error}; "
                               f"give the service's address with {WHERE}") from None
            else:
                if response.status_code != 503 or attempt == RETRIES:
                    return self._checked(response)
                what = f"{self.root} is unavailable for now (503)"
            pause = FIRST_BACKOFF_S * 2**attempt
            print(f"facetasks: {what}; retrying ({attempt + 1}/{RETRIES}) in {pause:g} s", file=sys.stderr)
            time.sleep(pause)
        raise AssertionError("unreachable")

    def _checked(self, response: requests.Response) -> requests.Response:
        if response.status_code < 400:
            return response
        try:
            body = response.json()
            title, description = body["title"], body["description"]
        except (ValueError, KeyError, TypeError):
            title = response.reason or "Error"
            description = (f"no facetasks API at {self.base} (HTTP {response.status_code}); "
                           f"give the service's address with {WHERE}")
        raise ApiError(response.status_code, title, description)

    def create_task(self, name: str | None) -> dict[str, Any]:
        return self.request("POST", "/tasks", json={"name": name} if name else {}).json()

    def upload_archive(self, task_id: str, archive: BinaryIO) -> dict[str, Any]:
        return self.request(
            "POST", f"/tasks/{task_id}/images", data=archive, headers={"Content-Type": "application/zip"}
        ).json()

    def start(self, task_id: str) -> dict[str, Any]:
        return self.request("POST", f"/tasks/{task_id}/start").json()

    def retry(self, task_id: str) -> dict[str, Any]:
        return self.request("POST", f"/tasks/{task_id}/retry").json()

    def delete(self, task_id: str) -> None:
        self.request("DELETE", f"/tasks/{task_id}")

    def summary(self, task_id: str) -> dict[str, Any]:
        return self.request("GET", f"/tasks/{task_id}", params={"images": "false"}).json()

    def tasks(self, status: str | None, owner: str | None = None) -> Iterator[dict[str, Any]]:
        """Every task (of ``owner``, when given), newest first, a page of 100 at a time."""
        page = 1
        while True:
            params = {"page": page, "page_size": 100, **({"status": status} if status else {}),
                      **({"owner": owner} if owner else {})}
            items = self.request("GET", "/tasks", params=params).json()["items"]
            yield from items
            if len(items) < 100:
                return
            page += 1

    def export_csv(self, task_id: str, target: BinaryIO) -> None:
        with self.request("GET", f"/tasks/{task_id}/faces.csv", stream=True) as response:
            for chunk in response.iter_content(64 * 1024):
                target.write(chunk)

    def add_user(self, name: str, role: str) -> dict[str, Any]:
        return self.request("POST", "/users", json={"name": name, "role": role}).json()

    def list_users(self) -> list[dict[str, Any]]:
        return self.request("GET", "/users").json()["items"]

    def remove_user(self, name: str) -> None:
        self.request("DELETE", f"/users/{quote(name, safe='')}")

    def create_key(self, name: str, user: str | None) -> dict[str, Any]:
        return self.request("POST", "/keys", json={"name": name, **({"user": user} if user else {})}).json()

    def list_keys(self) -> list[dict[str, Any]]:
        return self.request("GET", "/keys").json()["items"]

    def revoke_key(self, key_id: str) -> None:
        self.request("DELETE", f"/keys/{quote(key_id, safe='')}")

    def me(self) -> dict[str, Any]:
        return self.request("GET", "/me").json()
