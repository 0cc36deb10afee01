"""The FaceCloud client: one instance per process, shared by all worker threads.

Protocol (FaceCloud API v1): ``POST {base}/login`` with JSON credentials returns a bearer token;
``POST {base}/detect?demographics=true`` with the raw JPEG returns the faces. The token is cached on
the instance and shared by every thread; each thread keeps its own ``requests.Session`` so connections
are reused. The client never loops on errors: it maps each failure to the error tree of
``detectors.base`` and the pipeline decides when to try again. The one retry it does itself is a
single new login when a cached token is refused (401).

Logging: DEBUG records method, URL, status and elapsed time of every call on this module's logger;
the ``detectors.facecloud.raw`` logger records detect response bodies at DEBUG (for ``debug-raw``).
The password and the token are never logged.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from config.http_status import transient
from config.settings import Settings
from detectors.base import BadImageError, DetectorAuthError, DetectorError, Face, TransientDetectorError

log = logging.getLogger(__name__)
raw_log = logging.getLogger(__name__ + ".raw")

# Longest piece of a response body quoted in an error message or a raw log record.
_MAX_QUOTE = 500


def normalize_base_url(url: str) -> str:
    """Return the API v1 base, ``scheme://host[:port][/prefix]/api/v1``, without a trailing slash.

    Accepts the host alone (``http://h:1234``), ``.../api`` or ``.../api/v1``, with or without a
    trailing slash. Raises ValueError for a URL without scheme or host.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"FaceCloud URL must look like https://host[/api/v1], got {url!r}")
    path = parts.path.rstrip("/")
    if path.endswith("/api"):
        path += "/v1"
    elif not path.endswith("/api/v1"):
        path += "/api/v1"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


class FaceCloudClient:
    """A ``detectors.base.Detector`` backed by FaceCloud; safe to share between threads.

    ``timeout`` is ``(connect, read)`` in seconds, applied to every HTTP call: ``connect`` bounds
    opening the connection, ``read`` bounds each wait for the server's bytes (not the whole
    response). A ``detect`` call makes at most three HTTP calls (detect, login, detect again).
    """

    def __init__(
        self, base_url: str, email: str, password: str, *,
        timeout: tuple[float, float] = (5.0, Settings.facecloud_timeout_s)
    ) -> None:
        if len(timeout) != 2 or min(timeout) <= 0:
            raise ValueError(f"timeout must be (connect_s, read_s), both > 0, got {timeout!r}")
        self.base_url = normalize_base_url(base_url)
        self.model = f"facecloud {self.base_url}"
        self.timeout = timeout
        self._email = email
        self._password = password
        self._token: str | None = None
        self._login_lock = threading.Lock()
        self._logins_done = 0
        self._login_error: DetectorError | None = None
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()
        # requests' environment (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE, ...) read once, here: read on
        # every call it cost a tenth of a worker's CPU per image.
        self._environment = requests.Session().merge_environment_settings(self.base_url, {}, None, None, None)

    def __repr__(self) -> str:
        return f"FaceCloudClient({self.base_url!r}, email={self._email!r})"

    def ready(self) -> None:
        """Log in unless a token is cached: the detect call then begins without a login."""
        if self._token is None:
            self._login(stale_token=None)

    def detect(self, image: bytes, began: Callable[[], None] | None = None) -> list[Face]:
        """Return the faces on ``image`` (JPEG bytes); ``[]`` when there is none.

        ``began`` is called when the image's last byte has been handed to the socket.

        Raises ``BadImageError`` when FaceCloud rejects the image (400 and other 4xx but 408/429),
        ``TransientDetectorError`` for timeouts, connection errors, 408, 429, 5xx and unreadable
        answers, ``DetectorAuthError`` when the credentials are refused or a fresh token gets 401.
        """
        token = self._token or self._login(stale_token=None)
        response = self._detect_call(_Body(image, began), token)
        if response.status_code == 401:
            token = self._login(stale_token=token)
            response = self._detect_call(_Body(image, None), token)
            if response.status_code == 401:
                raise DetectorAuthError(
                    f"FaceCloud refused a fresh access token (HTTP 401: {_message(response)})"
                )
        status = response.status_code
        if status == 400:
            raise BadImageError(f"FaceCloud rejected the image: {_message(response)}")
        if transient(status):
            raise TransientDetectorError(f"FaceCloud detect answered HTTP {status}: {_message(response)}")
        if status >= 400:
            raise BadImageError(f"FaceCloud rejected the image with HTTP {status}: {_message(response)}")
        if raw_log.isEnabledFor(logging.DEBUG):
            raw_log.debug("FaceCloud detect response: %s", response.text[:_MAX_QUOTE])
        try:
            return [_face(item) for item in _data(response)]
        except (KeyError, TypeError, ValueError) as exc:
            raise TransientDetectorError(
                f"FaceCloud detect answered malformed faces ({type(exc).__name__}: {exc})"
            ) from None

    def close(self) -> None:
        """Close the connections of every thread's session; later calls open new ones."""
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()

    def _login(self, stale_token: str | None) -> str:
        """Log in unless another thread already replaced ``stale_token``; return the current token.

        Threads that queued behind a failed login raise that failure instead of trying again, so
        an unreachable FaceCloud costs one timeout, not one per waiting thread.
        """
        logins_seen = self._logins_done
        with self._login_lock:
            if self._token is not None and self._token != stale_token:
                return self._token
            failure = self._login_error
            if failure is not None and self._logins_done != logins_seen:
                raise type(failure)(*failure.args)
            try:
                self._token = self._fetch_token()
                self._login_error = None
            except DetectorError as exc:
                self._login_error = exc
                raise
            finally:
                self._logins_done += 1
            return self._token

    def _fetch_token(self) -> str:
        credentials = {"email": self._email, "password": self._password}
        login = requests.Request("POST", f"{self.base_url}/login", json=credentials)
        response = self._call("login", self._thread().session.prepare_request(login))
        status = response.status_code
        if transient(status):
            raise TransientDetectorError(f"FaceCloud login answered HTTP {status}: {_message(response)}")
        if status >= 400:
            # 401/403 are refused credentials; any other 4xx on login means a wrong URL or
            # account setup, which equally needs an operator, not a retry.
            raise DetectorAuthError(f"FaceCloud login refused with HTTP {status}: {_message(response)}")
        try:
            token = _data(response)["access_token"]
        except (KeyError, TypeError, ValueError):
            token = None
        if not isinstance(token, str) or not token:
            raise TransientDetectorError("FaceCloud login answered without an access token")
        return token

    def _detect_call(self, image: _Body, token: str) -> requests.Response:
        request = self._thread().detect.copy()
        request.headers["Authorization"] = f"Bearer {token}"
        request.prepare_body(image, None)
        return self._call("detect", request)

    def _call(self, endpoint: str, request: requests.PreparedRequest) -> requests.Response:
        """Send ``request`` to ``{base}/{endpoint}``; network failures become ``TransientDetectorError``."""
        url = f"{self.base_url}/{endpoint}"
        started = time.perf_counter()
        try:
            response = self._thread().session.send(request, timeout=self.timeout)
        except requests.ConnectTimeout:
            cause = f"connect timeout after {self.timeout[0]:g}s"
        except requests.Timeout:
            cause = f"timeout after {self.timeout[1]:g}s waiting for the answer"
        except requests.ConnectionError as exc:
            cause = f"connection error: {_root_cause(exc)}"
        except requests.RequestException as exc:
            cause = f"request error: {type(exc).__name__}: {exc}"
        else:
            log.debug("POST %s -> %s in %.1f ms", url, response.status_code, _ms_since(started))
            return response
        log.debug("POST %s failed after %.1f ms: %s", url, _ms_since(started), cause)
        raise TransientDetectorError(f"FaceCloud {endpoint}: {cause}")

    def _thread(self) -> _ThreadClient:
        mine: _ThreadClient | None = getattr(self._local, "client", None)
        if mine is None:
            mine = self._local.client = _ThreadClient(self.base_url, self._environment)
            with self._sessions_lock:
                self._sessions.append(mine.session)
        return mine


class _ThreadClient:
    """One thread's session (its kept-alive connection) and its detect request, prepared once: a call
    copies it and adds the token and the image (preparing the URL and headers each time cost as much
    as sending them)."""

    def __init__(self, base_url: str, environment: dict[str, Any]) -> None:
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.proxies = environment["proxies"]
        self.session.verify = environment["verify"]
        self.session.cert = environment["cert"]
        detect = requests.Request("POST", f"{base_url}/detect", params={"demographics": "true"},
                                  headers={"Content-Type": "image/jpeg"})
        self.detect = self.session.prepare_request(detect)


def _face(item: dict[str, Any]) -> Face:
    bbox = item["bbox"]
    demographics = item.get("demographics") or {}
    gender = demographics.get("gender")
    gender = gender.lower() if isinstance(gender, str) else "unknown"
    return Face(
        x=round(float(bbox["x"])),
        y=round(float(bbox["y"])),
        width=round(float(bbox["width"])),
        height=round(float(bbox["height"])),
        gender=gender if gender in ("male", "female") else "unknown",
        age=float(demographics["age"]["mean"]),
        score=float(item["score"]),
    )


class _Body(io.BytesIO):
    """The request body: the image, read by the HTTP client in blocks; ``began`` runs after the last."""

    def __init__(self, image: bytes, began: Callable[[], None] | None) -> None:
        super().__init__(image)
        self._began = began

    def read(self, size: int | None = -1) -> bytes:
        block = super().read(size)
        if not block and self._began is not None:
            began, self._began = self._began, None
            began()
        return block


def _data(response: requests.Response) -> Any:
    """The ``data`` member of a success body; raises TransientDetectorError when it is not JSON."""
    try:
        body = response.json()
    except ValueError:
        raise TransientDetectorError(
            f"FaceCloud answered HTTP {response.status_code} with a body that is not JSON: "
            f"{response.text[:_MAX_QUOTE]!r}"
        ) from None
    if not isinstance(body, dict) or "data" not in body:
        raise TransientDetectorError(
            f"FaceCloud answered JSON without 'data': {response.text[:_MAX_QUOTE]!r}"
        )
    return body["data"]


def _message(response: requests.Response) -> str:
    """FaceCloud's error ``message``, or the start of the body when it sent something else."""
    try:
        message = response.json().get("message")
    except (ValueError, AttributeError):
        message = None
    return (
        str(message) if message else (response.text[:_MAX_QUOTE].strip() or response.reason or "no message")
    )


def _root_cause(exc: BaseException) -> str:
    # requests wraps urllib3 wraps the socket error; the innermost one says what happened.
    while exc.__context__ is not None and exc.__context__ is not exc:
        exc = exc.__context__
    return f"{type(exc).__name__}: {exc}"


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
