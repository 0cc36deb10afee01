"""CPU time per process group (API, workers, PostgreSQL, RabbitMQ, emulator) and worker memory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg2

from bench import procs
from tests.testbed import MAINTENANCE_URL

Snapshot = dict[str, dict[int, int]]


def backends_of(database: str) -> list[int]:
    """PostgreSQL backends connected to ``database`` now."""
    conn = psycopg2.connect(MAINTENANCE_URL, connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,))
            return [row[0] for row in cur.fetchall()]
    finally:
        conn.close()


@dataclass
class CpuMeter:
    """Snapshots of utime+stime of the process trees of each group; differences in milliseconds.

    ``roots`` maps a group name to a function returning its root pids at snapshot time (a tree is
    followed down from each root). ``postgres`` is every process of the postgres user (other
    databases' backends included: the machine is shared); ``postgres_bench`` only the backends of
    the benchmark's database.
    """

    roots: dict[str, Callable[[], list[int]]] = field(default_factory=dict)
    database: str = ""

    def snapshot(self) -> Snapshot:
        table = procs.all_processes()
        snap: Snapshot = {}
        claimed: set[int] = set()
        # In the order given: a pid already in a group is not counted again (the harness comes
        # last, and its tree holds every other group's processes).
        for group, find in self.roots.items():
            pids = [pid for root in find() for pid in procs.tree(root, table) if pid not in claimed]
            claimed.update(pids)
            snap[group] = procs.cpu_ticks(pids, table)
        snap["postgres"] = procs.cpu_ticks(procs.pids_of_user("postgres"), table)
        snap["postgres_bench"] = procs.cpu_ticks(backends_of(self.database), table)
        rabbit = [pid for root in procs.pids_named("beam.smp") for pid in procs.tree(root, table)]
        snap["rabbitmq"] = procs.cpu_ticks(rabbit, table)
        return snap

    @staticmethod
    def difference(before: Snapshot, after: Snapshot) -> dict[str, float]:
        return {group: round(procs.cpu_ms_between(before.get(group, {}), pids), 1) for group, pids in after.items()}


def per_item(cpu_ms: dict[str, float], items: int) -> dict[str, float]:
    return {group: round(ms / items, 3) for group, ms in cpu_ms.items()} if items else {}


def rss_mib(pids: list[int]) -> float:
    return round(sum(procs.rss_kib(pid) for pid in pids) / 1024, 1)
