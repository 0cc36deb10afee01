"""``python -m bench [--quick] [--only a,b] [--images N]``: run the benchmark on a stack of its own.

Creates the ``facetasks_bench`` database and vhost, starts the FaceCloud emulator, the API and (per
scenario) the workers, runs the scenarios, then stops every process it started and drops the database
and the vhost -- also on Ctrl-C, SIGTERM or an error. Writes ``bench/results/<timestamp>.json`` and
``<timestamp>.png`` and prints a short table.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report
from bench.client import ApiClient
from bench.config import Sizes
from bench.context import Context
from bench.scenarios import SCENARIOS
from bench.stack import BENCH_NAME, ROOT, ServiceStack
from tests.harness import Children, free_port
from tests.testbed import EmulatorProcess, Resources

RESULTS_DIR = ROOT / "bench" / "results"


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _machine() -> dict[str, Any]:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            check=False).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "git_commit": commit or None,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description="The facetasks benchmark.")
    parser.add_argument("--quick", action="store_true", help="the quick mode (under 3 minutes)")
    parser.add_argument("--only", default="", help=f"comma-separated scenarios of: {', '.join(SCENARIOS)}")
    parser.add_argument("--images", type=int, help="scale every image count to about this many (smoke runs)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="where the JSON and the chart go")
    parser.add_argument("--name", default=BENCH_NAME, help="the database and vhost to create and drop")
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs and files")
    args = parser.parse_args(argv)
    args.scenarios = [s.strip() for s in args.only.split(",") if s.strip()] or list(SCENARIOS)
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    return args


def run_scenarios(ctx: Context, names: list[str], results: dict[str, Any]) -> bool:
    """Run each scenario; one that fails is recorded with its error and the next one still runs."""
    ok = True
    for name in names:
        print(f"[bench] {name} ...", flush=True)
        started, load = time.monotonic(), os.getloadavg()[0]
        try:
            body = SCENARIOS[name](ctx)
        except Exception as error:
            ok = False
            traceback.print_exc()
            logs = {child.name: child.tail(1500) for child in ctx.children.running}
            body = {"error": f"{type(error).__name__}: {error}"[:2000], "logs": logs}
        finally:
            ctx.stop_workers()
        body["scenario_seconds"] = round(time.monotonic() - started, 1)
        body["load_average_1min"] = {"start": round(load, 2), "end": round(os.getloadavg()[0], 2)}
        results["scenarios"][name] = body
        print(f"[bench] {name} done in {body['scenario_seconds']:.0f} s", flush=True)
        ctx.resources.truncate()
    return ok


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = Sizes.quick_mode() if args.quick else Sizes.full()
    if args.images:
        sizes = sizes.with_images(args.images)
    # Both stop the run and clean up (SIGINT explicitly too: a background job may have inherited SIG_IGN).
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    started_at = datetime.now(UTC)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    results: dict[str, Any] = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "command": " ".join([Path(sys.executable).name, "-m", "bench", *(argv or sys.argv[1:])]),
        "machine": _machine(),
        "sizes": {k: v for k, v in vars(sizes).items()},
        "note": "2-core machine shared with other work: numbers are noisy; ratios within one run are the point.",
        "scenarios": {},
    }
    workdir = Path(tempfile.mkdtemp(prefix="facetasks-bench-"))
    (workdir / "logs").mkdir()
    children = Children(workdir / "logs", cwd=ROOT)
    resources = Resources(args.name)
    ok = False
    clock = time.monotonic()
    try:
        print(f"[bench] {results['mode']} mode; scenarios: {', '.join(args.scenarios)}; work dir {workdir}",
              flush=True)
        resources.create()
        emulator = EmulatorProcess(children).start()
        stack = ServiceStack(children, resources, workdir / "images", emulator.url, free_port())
        stack.start_api()
        client = ApiClient(stack.url, sizes.upload_threads)
        ctx = Context(sizes, children, resources, emulator, stack, client, workdir, workdir / "images")
        ok = run_scenarios(ctx, args.scenarios, results)
        results["api_retries"] = ctx.client.retries
    except KeyboardInterrupt:
        print("[bench] interrupted; cleaning up", flush=True)
        results["interrupted"] = True
    finally:
        children.stop_all(grace_s=10)
        resources.drop()
        if ok and not args.keep_logs:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"[bench] logs kept in {workdir}", flush=True)
    results["total_seconds"] = round(time.monotonic() - clock, 1)
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    json_path = args.out / f"{stamp}.json"
    results["json"] = str(json_path)
    results["chart"] = str(json_path.with_suffix(".png"))
    report.write_json(results, json_path)
    try:
        report.chart(results, json_path.with_suffix(".png"))
    except ImportError:
        results["chart"] = None
        print("[bench] matplotlib is not installed: no chart (pip install '.[bench]')", flush=True)
        report.write_json(results, json_path)
    print(report.table(results), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
