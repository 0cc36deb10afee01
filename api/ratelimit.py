"""Failed authentications per client address, limited: past the limit, the address gets 429 until its window ends.

A fixed window per address (``limit`` failures per ``window_s`` seconds), counted under one lock so the limit
holds across the API's request threads. It is per API process: with N processes behind one address an
attacker gets at most N x ``limit`` guesses a window, still nothing against 256-bit keys; the point is to
stop a password-guessing loop on the bootstrap pair and to keep the log readable. The address is the TCP
peer's (``REMOTE_ADDR``): behind a reverse proxy every client shares the proxy's address.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

# Addresses remembered at most; past it, windows that have ended are forgotten first.
MAX_ADDRESSES = 10_000


@dataclass
class _Window:
    began: float
    failures: int = 0
    logged: bool = False


class FailureLimit:
    def __init__(self, limit: int, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def retry_after(self, address: str) -> int | None:
        """Seconds until ``address`` may try again, or None when it may now."""
        with self._lock:
            window = self._current(address, self.clock())
            if window is None or window.failures < self.limit:
                return None
            if not window.logged:
                window.logged = True
                logger.warning("%s: %d failed authentications within %.0f s; refused (429) until the window ends",
                               address, window.failures, self.window_s)
            return max(1, math.ceil(window.began + self.window_s - self.clock()))

    def failed(self, address: str) -> None:
        with self._lock:
            now = self.clock()
            window = self._current(address, now)
            if window is None:
                if len(self._windows) >= MAX_ADDRESSES:
                    self._forget_ended(now)
                window = self._windows[address] = _Window(now)
            window.failures += 1

    def _current(self, address: str, now: float) -> _Window | None:
        window = self._windows.get(address)
        if window is not None and now - window.began >= self.window_s:
            del self._windows[address]
            return None
        return window

    def _forget_ended(self, now: float) -> None:
        ended = [a for a, w in self._windows.items() if now - w.began >= self.window_s]
        for address in ended or list(self._windows)[: len(self._windows) // 2]:
            del self._windows[address]
