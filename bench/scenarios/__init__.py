"""The benchmark's scenarios, in the order they run; each takes a ``Context`` and returns a JSON-able dict."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.context import Context
from bench.scenarios import breakdown, latency, local, memory, object_store, overhead, scale, throughput

Scenario = Callable[[Context], dict[str, Any]]

SCENARIOS: dict[str, Scenario] = {
    "throughput": throughput.run,
    "breakdown": breakdown.run,
    "overhead": overhead.run,
    "local": local.run,
    "latency": latency.run,
    "memory": memory.run,
    "scale": scale.run,
    "object_store": object_store.run,
}
