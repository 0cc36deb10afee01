"""What the kernel says about processes: trees, CPU time and resident memory, from ``/proc``."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcInfo:
    pid: int
    ppid: int
    cpu_ticks: int  # utime + stime of the process itself (not of its reaped children)


def _read_stat(pid: int) -> ProcInfo | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name may hold spaces and parentheses: fields start after the last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    return ProcInfo(pid, int(fields[1]), int(fields[11]) + int(fields[12]))


def all_processes() -> dict[int, ProcInfo]:
    procs = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (info := _read_stat(int(entry))) is not None:
            procs[info.pid] = info
    return procs


def tree(root: int, procs: dict[int, ProcInfo] | None = None) -> list[int]:
    """``root`` and all its descendants that are alive now."""
    procs = all_processes() if procs is None else procs
    children: dict[int, list[int]] = {}
    for info in procs.values():
        children.setdefault(info.ppid, []).append(info.pid)
    found, todo = [], [root] if root in procs else []
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` in the order the kernel lists them (creation order)."""
    pids: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            pids += [int(p) for p in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    except FileNotFoundError:
        return []
    return sorted(set(pids), key=pids.index)


def pids_of_user(user: str) -> list[int]:
    result = subprocess.run(["pgrep", "-u", user], capture_output=True, text=True, check=False)
    return [int(p) for p in result.stdout.split()]


def pids_named(name: str) -> list[int]:
    result = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True, check=False)
    return [int(p) for p in result.stdout.split()]


def cpu_ticks(pids: Iterable[int], procs: dict[int, ProcInfo]) -> dict[int, int]:
    return {pid: procs[pid].cpu_ticks for pid in pids if pid in procs}


def cpu_ms_between(before: dict[int, int], after: dict[int, int]) -> float:
    """CPU milliseconds spent between two snapshots by the processes alive at the second one.

    A process born in between counts from zero; one that died in between is lost (its time
    went to its parent's cutime, which we do not read).
    """
    ticks = sum(max(0, t - before.get(pid, 0)) for pid, t in after.items())
    return ticks * 1000.0 / CLOCK_TICKS


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` in KiB (``VmRSS``), 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0
