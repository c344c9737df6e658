"""Queue benchmark runner: drain, enqueue, bulk and idle latency for each registered system.

Run with the peers' own interpreter, e.g.::

    bench/.venv-peers/bin/python bench/peers.py --system huey-sqlite --metric drain \
        --runs 3 --json bench/out/huey.json
    bench/.venv-peers/bin/python bench/peers.py --all --runs 3 --json bench/out/peers.json

Runs are interleaved (round 1 of every system, then round 2, ...) so that drift in the
machine's speed hits every system alike. Each run sets up a clean queue, measures, stops
its workers and tears down; a run that fails or exceeds ``--run-timeout`` is recorded as
an error and the next one starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import signal
import sqlite3
import sys
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import systems

ALL_METRICS = ("drain", "enqueue", "bulk", "latency")


class RunTimeoutError(Exception):
    """Raised by the SIGALRM watchdog when one run exceeds its time budget."""


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise RunTimeoutError("run exceeded --run-timeout")


def _on_term(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks that stop workers


def run_one(
    cls: type[common.System],
    metric: str,
    run_index: int,
    params: common.MetricParams,
    recorder: common.Recorder,
    run_timeout: int,
) -> dict[str, Any]:
    """Set up ``cls``, measure ``metric`` once, always stop workers and tear down."""
    log_path = common.OUT_DIR / "logs" / f"{cls.name}-{metric}-{run_index}.log"
    log_path.unlink(missing_ok=True)
    system = cls(common.RunContext(log_path=log_path, recorder=recorder))
    signal.alarm(run_timeout)
    t0 = time.perf_counter()
    cpu0 = common.CpuTimes.now()
    try:
        system.setup()
        result = common.METRICS[metric](system, params)
    finally:
        signal.alarm(0)
        try:
            system.stop_workers()
        finally:
            system.teardown()
    result["run"] = run_index
    result["wall_s"] = round(time.perf_counter() - t0, 3)
    result.update(common.CpuTimes.now().usage_since(cpu0))
    return result


def summarize_entry(entry: dict[str, Any]) -> None:
    """Fill ``entry['summary']`` from its successful runs (medians and min-max)."""
    runs = entry["runs"]
    if not runs:
        entry["summary"] = None
    elif entry["metric"] == "latency":
        entry["summary"] = {
            "p50": common.summarize([r["p50"] for r in runs]),
            "p99": common.summarize([r["p99"] for r in runs]),
        }
    else:
        entry["summary"] = common.summarize([r["value"] for r in runs])


def describe(entry: dict[str, Any], result: dict[str, Any]) -> str:
    """One human-readable line for a finished run."""
    if entry["metric"] == "latency":
        return f"p50 {result['p50']:.1f} ms  p99 {result['p99']:.1f} ms"
    extra = ""
    if entry["metric"] == "drain":
        extra = f"  ({result['jobs']} jobs in {result['drain_s']:.2f} s)"
    return f"{result['value']:,.0f} jobs/s{extra}"


def environment() -> dict[str, Any]:
    """Facts about the machine and servers, recorded beside the results."""
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
        "loadavg_start": os.getloadavg(),
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "argv": sys.argv[1:],
    }
    for key, probe in (
        ("redis", common.Recorder().server_version),
        ("postgresql", common.pg_server_version),
    ):
        try:
            env[key] = probe()
        except Exception as exc:
            env[key] = f"unavailable: {exc}"
    return env


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line interface."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--system", action="append", default=[], help="system name (repeatable)")
    ap.add_argument("--all", action="store_true", help="every default system")
    ap.add_argument(
        "--metric",
        action="append",
        choices=[*ALL_METRICS, "all"],
        default=[],
        help="metric (repeatable; default: all)",
    )
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path, help="write results here (rewritten after each run)")
    ap.add_argument("--list", action="store_true", help="list systems and exit")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--drain-jobs", type=int, default=0, help="override per-system default")
    ap.add_argument("--enqueue-calls", type=int, default=0, help="override per-system default")
    ap.add_argument("--bulk-jobs", type=int, default=10_000)
    ap.add_argument("--bulk-batch", type=int, default=1_000)
    ap.add_argument("--latency-samples", type=int, default=200)
    ap.add_argument("--run-timeout", type=int, default=180, help="seconds per run, then kill")
    ap.add_argument(
        "--quiet-below",
        type=float,
        default=25.0,
        help="before each run, wait until other load is below this CPU %% ...",
    )
    ap.add_argument("--quiet-wait", type=float, default=0.0, help="... for at most this many s")
    args = ap.parse_args(argv)
    if not args.list and not args.all and not args.system:
        ap.error("give --system NAME, --all or --list")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the requested systems x metrics x runs; print progress, write JSON."""
    args = parse_args(argv)
    if args.list:
        for name, target in systems.REGISTRY.items():
            print(f"{name:16} {target}")
        return 0
    names = list(systems.DEFAULT_SYSTEMS) if args.all else []
    names += [n for n in args.system if n not in names]
    metrics = list(ALL_METRICS) if not args.metric or "all" in args.metric else args.metric
    params = common.MetricParams(
        workers=args.workers,
        drain_jobs=args.drain_jobs,
        enqueue_calls=args.enqueue_calls,
        bulk_jobs=args.bulk_jobs,
        bulk_batch=args.bulk_batch,
        latency_samples=args.latency_samples,
    )
    classes = {name: systems.load(name) for name in names}

    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGTERM, _on_term)
    recorder = common.Recorder()
    doc: dict[str, Any] = {
        "environment": environment(),
        "params": dataclasses.asdict(params),
        "results": [],
    }
    entries: dict[tuple[str, str], dict[str, Any]] = {}
    for name, cls in classes.items():
        for metric in metrics:
            if metric == "bulk" and not cls.supports_bulk:
                continue
            entry: dict[str, Any] = {
                "system": name,
                "label": cls.label,
                "metric": metric,
                "unit": common.UNITS[metric],
                "versions": cls.versions(),
                "notes": cls.notes,
                "runs": [],
                "errors": [],
                "summary": None,
            }
            entries[(name, metric)] = entry
            doc["results"].append(entry)

    t_start = time.perf_counter()
    try:
        for run_index in range(1, args.runs + 1):
            for (name, metric), entry in entries.items():
                label = f"[run {run_index}/{args.runs}] {name:15} {metric:8}"
                background = common.wait_for_quiet(args.quiet_below, args.quiet_wait)
                try:
                    result = run_one(
                        classes[name], metric, run_index, params, recorder, args.run_timeout
                    )
                except (Exception, RunTimeoutError) as exc:
                    entry["errors"].append({"run": run_index, "error": repr(exc)})
                    print(f"{label} ERROR {exc!r}", flush=True)
                    traceback.print_exc(file=sys.stderr)
                else:
                    result["background_busy_pct"] = background
                    entry["runs"].append(result)
                    print(
                        f"{label} {describe(entry, result)}  [background {background:.0f}% "
                        f"busy before; during run {result['busy_pct']:.0f}% busy, "
                        f"{result['steal_pct']:.0f}% steal]",
                        flush=True,
                    )
                summarize_entry(entry)
                doc["environment"]["elapsed_s"] = round(time.perf_counter() - t_start, 1)
                doc["environment"]["loadavg_end"] = os.getloadavg()
                if args.json:
                    args.json.parent.mkdir(parents=True, exist_ok=True)
                    args.json.write_text(json.dumps(doc, indent=2) + "\n")
    finally:
        common.kill_all_started()
    print(f"total {time.perf_counter() - t_start:.0f} s", flush=True)
    return 1 if any(e["errors"] for e in entries.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
