"""The REST API as the command line, the benchmark and the tests call it: one requests Session whose
adapter retries, with urllib3's ``Retry``, what may pass by itself and is safe to send again.

A connection refused or timed out before the request left is retried whatever the method; an answer lost
after it left only for the idempotent methods (a POST that creates a task is never sent twice blindly); 503
and 429 whatever the method, since the API answers them having changed nothing, after the ``Retry-After``
they give or else an exponential backoff: ``RETRIES`` times over about half a minute, each retry announced
(on stderr by default). A host name that does not resolve is said at once. Every other error is raised as
an ``ApiError`` carrying the API's own ``title`` and ``description``.
"""

from __future__ import annotations

import re
import socket
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

RETRIES = 6
FIRST_BACKOFF_S = 0.5
TIMEOUT_S = (5, 300)
WHERE = "--url or FACETASKS_URL"


class ApiError(Exception):
    """The API answered an error (or could not be reached); the message is its description."""

    def __init__(self, status: int, title: str, description: str) -> None:
        super().__init__(description)
        self.status, self.title, self.description = status, title, description


class UnknownHost(Exception):
    """The service's host name does not resolve: no retry will change that."""


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


def _reason(error: BaseException) -> str:
    """The operating system's words (``Connection refused``) without urllib3's object dumps."""
    found = re.findall(r"\[Errno -?\d+\] ([^'\")\]]+)", str(error))
    if found:
        return found[-1].strip()
    return "timed out" if "timed out" in str(error).lower() else type(error).__name__


def _unresolved(error: BaseException | None) -> bool:
    """Whether a name lookup failed somewhere under ``error`` (urllib3 wraps the resolver's error)."""
    while error is not None:
        if isinstance(error, socket.gaierror):
            return True
        error = error.__cause__ or error.__context__
    return False


def announce(line: str) -> None:
    print(f"facetasks: {line}", file=sys.stderr)


class _Retry(Retry):
    """urllib3's Retry with the API's rules: 503 and 429 for every method, no retry of an unknown host, and
    each pause told to ``on_retry`` (the sentence to say) before it is slept."""

    def __init__(self, *, on_retry: Callable[[str], None], root: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_retry, self.root = on_retry, root

    def new(self, **kwargs: Any) -> _Retry:
        return super().new(on_retry=self.on_retry, root=self.root, **kwargs)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        # The API answers 503, and 429 with its Retry-After, having changed nothing: any method may ask again.
        return status_code == 503 or (status_code == 429 and has_retry_after)

    def increment(self, method: str | None = None, url: str | None = None, response: Any = None,
                  error: Exception | None = None, _pool: Any = None, _stacktrace: Any = None) -> _Retry:
        if _unresolved(error):
            raise UnknownHost from error
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def sleep(self, response: Any = None) -> None:
        attempt, last = len(self.history), self.history[-1]
        retry_after = self.get_retry_after(response) if response is not None else None
        pause = retry_after or FIRST_BACKOFF_S * 2 ** (attempt - 1)
        if last.error is not None:
            what = f"{self.root} does not answer ({_reason(last.error)})"
        elif last.status == 503:
            what = f"{self.root} is unavailable for now (503)"
        else:
            what = f"{self.root} refuses for now ({last.status})"
        self.on_retry(f"{what}; retrying ({attempt}/{attempt + self.total}) in {pause:g} s")
        time.sleep(pause)


class Api:
    def __init__(self, url: str, auth: tuple[str, str] | None = None, key: str | None = None, *,
                 retries: int | None = None, on_retry: Callable[[str], None] = announce,
                 connections: int = 10) -> None:
        """``key``, an API key (ft_…), is sent as a Bearer token; otherwise ``auth`` as Basic credentials.
        ``retries`` (default ``RETRIES``; 0 for none) and each one told to ``on_retry``; ``connections`` kept
        open at most, as many as the threads that call at once."""
        self.root = service_root(url)
        self.base = self.root + "/api/v1"
        self.http = requests.Session()
        retry = _Retry(total=RETRIES if retries is None else retries, other=0, raise_on_status=False,
                       allowed_methods=Retry.DEFAULT_ALLOWED_METHODS, on_retry=on_retry, root=self.root)
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=connections)
        for scheme in ("http://", "https://"):
            self.http.mount(scheme, adapter)
        if key:
            self.http.headers["Authorization"] = f"Bearer {key}"
        else:
            self.http.auth = auth

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """The response of a successful call, after the retries; raises ``ApiError``."""
        try:
            response = self.http.request(method, self.base + path, timeout=TIMEOUT_S, **kwargs)
        except UnknownHost:
            raise ApiError(0, "Unknown host", f"cannot find the host {urlsplit(self.root).hostname} "
                           f"of {self.root}; give the service's address with {WHERE}") from None
        except (requests.ConnectionError, requests.Timeout) as error:
            raise ApiError(0, "No answer", f"{self.root} does not answer ({_reason(error)}); is the service "
                           f"running (make run)? Give its address with {WHERE}") from None
        except requests.RequestException as error:
            raise ApiError(0, "Bad address", f"cannot call {self.base + path}: {error}; "
                           f"give the service's address with {WHERE}") from None
        return self._checked(response)

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

    def upload_image(self, task_id: str, name: str, data: bytes) -> dict[str, Any]:
        """One JPEG, as a form's file field (multipart), as a browser sends it."""
        return self.request("POST", f"/tasks/{task_id}/images", files={"file": (name, data, "image/jpeg")}).json()

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
