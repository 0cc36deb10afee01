"""The results: ``bench/results/<timestamp>.json``, a PNG chart next to it, and a short table."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

CPU_GROUPS = ("api", "workers", "postgres", "rabbitmq", "emulator")


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")


def _cpu(per_image: dict[str, float]) -> str:
    return " ".join(f"{g}={per_image.get(g, 0):.2f}" for g in CPU_GROUPS)


def _breakdown_lines(bd: dict[str, Any]) -> list[str]:
    phases = "; ".join(f"{k} {v['mean_ms']:.1f}" for k, v in bd["phases"].items() if v["n"])
    gap, between = bd["thread_gap"], bd["between_messages"]
    return [
        f"breakdown   one task of {bd['images']} at {bd['latency_ms']} ms, {bd['processes']}x{bd['threads']}: start to "
        f"first call {bd['start_to_first_call_ms']} ms ({', '.join(f'{k} {v}' for k, v in bd['start'].items())}), "
        f"last answer to task end {bd['last_answer_to_task_end_ms']} ms",
        f"            thread gap (answer to next call) mean {gap['mean_ms']} p50 {gap['p50_ms']} p95 {gap['p95_ms']} "
        f"ms; between messages mean {between['mean_ms']} ms; C/L at debug level {bd['ratio_at_debug_level']}",
        f"            phases, mean ms: {phases}",
    ]


def table(results: dict[str, Any]) -> str:
    """A short plain-text table of the headline numbers (and the goal each is judged by)."""
    lines: list[str] = []
    add = lines.append
    scenarios = results.get("scenarios", {})
    add(f"facetasks benchmark ({results['mode']}, {results['machine']['cpus']} CPUs) -> {results.get('json', '')}")
    for name, body in scenarios.items():
        if "error" in body:
            add(f"{name:<11} ERROR {body['error']}")
        elif "skipped" in body:
            add(f"{name:<11} SKIPPED: {body['skipped']}")
    if (tp := scenarios.get("throughput")) and "runs" in tp:
        add("throughput  C=PxT   images  img/s   C/L    ratio  (goal >= 0.95 at each C)   uploads/s")
        for r in tp["runs"]:
            add(f"            {r['concurrency']:>3}={r['processes']}x{r['threads']:<3} {r['images']:>6} "
                f"{r['images_per_s']:>7.1f} {r['limit_images_per_s']:>6.1f} {r['ratio']:>7.3f}"
                f"{'':>27}{r['upload_images_per_s']:>6.1f}")
    if (bd := scenarios.get("breakdown")) and "phases" in bd:
        lines.extend(_breakdown_lines(bd))
    if (ov := scenarios.get("overhead")) and "pipeline" in ov:
        p, n, c = ov["pipeline"], ov["noop_ceiling"], ov["claim_complete_ceiling"]
        add(f"overhead    pipeline {p['images_per_s']:.0f} img/s ({p['images']} images, start request "
            f"{p['start_request_s']:.2f} s); no-op actor {n['messages_per_s']:.0f} msg/s; "
            f"raw-SQL claim+complete {c['messages_per_s']:.0f} msg/s")
        runs = "/".join(f"{v:.0f}" for v in c.get("runs_messages_per_s", []))
        add(f"            ratio to claim+complete {ov['ratio_to_claim_complete']:.3f} (goal >= 0.60; "
            f"ceiling runs {runs}); to no-op {ov['ratio_to_noop']:.3f}")
        add(f"            CPU ms/image pipeline: {_cpu(p['cpu_ms_per_image'])}")
        add(f"            CPU ms/msg claim+complete: {_cpu(c['cpu_ms_per_image'])}")
        add(f"            CPU ms/msg no-op: {_cpu(n['cpu_ms_per_image'])}")
        mine, least = p["cpu_ms_per_image"], c["cpu_ms_per_image"]
        if least.get("workers") and least.get("postgres"):
            add(f"            pipeline over claim+complete, CPU per image: workers "
                f"{mine['workers'] / least['workers']:.2f}x (goal <= 2), postgres "
                f"{mine['postgres'] / least['postgres']:.2f}x (goal <= 1.5)")
    if (lo := scenarios.get("local")) and "runs" in lo:
        for r in lo["runs"]:
            add(f"local       {r['fixture']:<20} service {r['service_images_per_s']:.2f} img/s; raw CenterFace "
                f"{r['raw_local']['images_per_s']:.2f}, HOG {r['raw_hog']['images_per_s']:.2f}, library "
                f"{r['raw_library']['images_per_s']:.2f} img/s")
            add(f"            time per photo, service over: raw CenterFace {r['time_vs_local']:.2f}, today's HOG "
                f"{r['time_vs_hog']:.2f} (goal <= 1.0 at 1080p, <= 2.0 at 512), library {r['time_vs_library']:.2f} "
                f"(goal <= 2.0)")
        sc = lo["scaling"]
        add(f"local       {sc['fixture']} by worker processes, img/s: "
            + ", ".join(f"{n}: {v:.2f} ({sc['over_raw_one_process'][n]:.2f}x raw in one process)"
                        for n, v in sc["service_images_per_s"].items()))
        mem = lo["memory"]
        points = ", ".join(f"{p['images']}: {p['rss_mib']:.0f} MiB" for p in mem["points"])
        add(f"local       worker RSS over mixed photos {points}; growth after the first checkpoint "
            f"{mem['growth_after_first_checkpoint_pct']:.1f} % (goal <= 10 %)")
    if (la := scenarios.get("latency")) and "get_task" in la:
        for label, part in (("GET task", la["get_task"]), ("upload", la["upload"])):
            for r in part["runs"]:
                add(f"latency     {label:<9} {r['threads']} threads: p50 {r['p50_ms']:.1f} p95 {r['p95_ms']:.1f} "
                    f"p99 {r['p99_ms']:.1f} ms, {r['requests_per_s']:.1f} req/s, {r['errors']} errors"
                    + ("  (goal p99 <= 100 ms)" if label == "GET task" else ""))
    if (me := scenarios.get("memory")) and "points" in me:
        points = ", ".join(f"{p['images']}: {p['rss_mib']:.0f} MiB" for p in me["points"])
        add(f"memory      worker RSS {points}; growth {me['growth_pct']:.1f} % (goal <= 10 %), "
            f"after the first checkpoint {me['growth_after_first_checkpoint_pct']:.1f} %")
    if (sc := scenarios.get("scale")) and "ratio_big_to_small" in sc:
        lines.extend(_scale_lines(sc))
    if (st := scenarios.get("object_store")) and "runs" in st:
        files, s3 = st["runs"]
        add(f"store       S3 over filesystem at {st['latency_ms']} ms, {s3['images']} images: pipeline "
            f"{s3['pipeline_images_per_s']:.1f} / {files['pipeline_images_per_s']:.1f} img/s = "
            f"{st['pipeline_ratio']:.3f} (goal >= 0.95); uploads {s3['upload_images_per_s']:.1f} / "
            f"{files['upload_images_per_s']:.1f} img/s = {st['upload_ratio']:.3f}")
    return "\n".join(lines)


def _scale_lines(sc: dict[str, Any]) -> list[str]:
    big, lines = sc["images"]["big"], []
    for name, ratio in sc["ratio_big_to_small"].items():
        small, large = sc["reads_small"][name], sc["reads_big"][name]
        lines.append(f"scale       {name:<9} 100: p50 {small['p50_ms']:.1f} p99 {small['p99_ms']:.1f} ms; {big:,}: "
                     f"p50 {large['p50_ms']:.1f} p99 {large['p99_ms']:.1f} ms; ratio p50 {ratio['p50_ms']} "
                     f"p99 {ratio['p99_ms']} (goal <= 1.5)")
    st, start, fair = sc["stream_big"], sc["start_big"], sc["fairness"]
    lines.append(f"scale       whole task of {big:,} streamed in {st['seconds']} s ({st['bytes']:,} bytes), "
                 f"API peak RSS +{st['api_peak_rss_growth_mib']} MiB (goals <= 1.5 s, <= 50 MB)")
    if "csv_big" in sc:
        cs = sc["csv_big"]
        lines.append(f"scale       faces.csv of {big:,} streamed in {cs['seconds']} s ({cs['bytes']:,} bytes), "
                     f"API peak RSS +{cs['api_peak_rss_growth_mib']} MiB")
    lines.append(f"scale       start of {big:,}: {start['latency_ms']} ms (goal <= 300), queues after "
                 f"{start['queue_depth_after']}")
    lines.append(f"scale       fairness: 10 images alone {fair['small_task_alone_s']} s, beside a running "
                 f"{fair['running_images']:,}-image task {fair['small_task_beside_big_s']} s, +{fair['extra_s']} s "
                 f"(goal <= 3); detector calls within 2 s after deleting the big task: "
                 f"{fair['detector_calls_within_2s_after_delete']}")
    return lines


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = results.get("scenarios", {})
    fig, axes = plt.subplots(2, 3, figsize=(16, 9))
    fig.suptitle(f"facetasks benchmark, {results['mode']} mode, {results['started_at']}")
    _throughput(axes[0][0], scenarios.get("throughput", {}))
    _overhead(axes[0][1], scenarios.get("overhead", {}))
    _cpu_chart(axes[0][2], scenarios.get("overhead", {}))
    _latency(axes[1][0], scenarios.get("latency", {}))
    _memory(axes[1][1], scenarios.get("memory", {}))
    _local(axes[1][2], scenarios.get("local", {}))
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _empty(ax: Any, title: str, body: dict[str, Any]) -> bool:
    ax.set_title(title)
    reason = body.get("skipped") or body.get("error") or ("not run" if not body else None)
    if reason:
        ax.text(0.5, 0.5, textwrap.fill(str(reason)[:200], 50), ha="center", va="center", fontsize=9,
                transform=ax.transAxes)
        ax.set_axis_off()
    return bool(reason)


def _throughput(ax: Any, body: dict[str, Any]) -> None:
    if _empty(ax, "1. throughput vs C/L (L = emulator latency)", body):
        return
    runs = body["runs"]
    c = [r["concurrency"] for r in runs]
    ax.plot(c, [r["limit_images_per_s"] for r in runs], "k--", label="C/L limit")
    ax.plot(c, [r["images_per_s"] for r in runs], "o-", label="service")
    for r in runs:
        ax.annotate(f"{r['ratio']:.2f}", (r["concurrency"], r["images_per_s"]), textcoords="offset points",
                    xytext=(4, -12))
    ax.set_xlabel("C = processes x threads")
    ax.set_ylabel("images/s")
    ax.legend()


def _overhead(ax: Any, body: dict[str, Any]) -> None:
    if _empty(ax, "2. pipeline vs ceilings (emulator 0 ms)", body):
        return
    labels = ["pipeline", "raw-SQL\nclaim+complete", "no-op actor"]
    values = [body["pipeline"]["images_per_s"], body["claim_complete_ceiling"]["messages_per_s"],
              body["noop_ceiling"]["messages_per_s"]]
    bars = ax.bar(labels, values, color=["tab:blue", "tab:orange", "tab:gray"])
    ax.bar_label(bars, fmt="%.0f")
    ax.set_ylabel("images (messages)/s")


def _cpu_chart(ax: Any, body: dict[str, Any]) -> None:
    if _empty(ax, "CPU ms per image by process group", body):
        return
    runs = [("pipeline", body["pipeline"]), ("claim+complete", body["claim_complete_ceiling"]),
            ("no-op", body["noop_ceiling"])]
    bottom = [0.0] * len(runs)
    for group in CPU_GROUPS:
        values = [r["cpu_ms_per_image"].get(group, 0.0) for _, r in runs]
        ax.bar([name for name, _ in runs], values, bottom=bottom, label=group)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylabel("CPU ms / image")
    ax.legend(fontsize=8)


def _latency(ax: Any, body: dict[str, Any]) -> None:
    if _empty(ax, "4. API latency under load", body):
        return
    labels, p50, p95, p99 = [], [], [], []
    for name, part in (("GET task", body["get_task"]), ("upload", body["upload"])):
        for r in part["runs"]:
            labels.append(f"{name}\n{r['threads']} thr, {r['requests_per_s']:.0f}/s")
            p50.append(r["p50_ms"])
            p95.append(r["p95_ms"])
            p99.append(r["p99_ms"])
    x = range(len(labels))
    width = 0.27
    ax.bar([i - width for i in x], p50, width, label="p50")
    ax.bar(list(x), p95, width, label="p95")
    ax.bar([i + width for i in x], p99, width, label="p99")
    ax.axhline(100, color="red", linestyle=":", label="GET goal p99")
    ax.set_xticks(list(x), labels, fontsize=8)
    ax.set_ylabel("ms")
    ax.legend(fontsize=8)


def _memory(ax: Any, body: dict[str, Any]) -> None:
    if _empty(ax, "5. worker RSS (sum of worker processes)", body):
        return
    points = body["points"]
    ax.plot([p["images"] for p in points], [p["rss_mib"] for p in points], "o-")
    ax.set_xlabel("images processed")
    ax.set_ylabel("MiB")
    ax.set_ylim(bottom=0)
    ax.set_title(f"5. worker RSS: growth {body['growth_pct']:.1f} %")


def _local(ax: Any, body: dict[str, Any]) -> None:
    if _empty(ax, "3. local detector: service vs raw detectors", body):
        return
    runs = body["runs"]
    x = range(len(runs))
    bars = [("service", [r["service_images_per_s"] for r in runs])] + [
        (f"raw {label}", [r[f"raw_{name}"]["images_per_s"] for r in runs])
        for name, label in (("local", "CenterFace"), ("hog", "HOG"), ("library", "library"))
    ]
    for offset, (label, values) in enumerate(bars):
        ax.bar([i - 0.3 + offset * 0.2 for i in x], values, 0.2, label=label)
    ax.set_xticks(list(x), [f"{r['fixture']}\nvs HOG {r['time_vs_hog']:.2f}" for r in runs], fontsize=8)
    ax.set_ylabel("images/s")
    ax.legend(fontsize=8)
