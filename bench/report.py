"""Turn bench/peers.py JSON results into a Markdown table (for bench/RESULTS.md).

Usage::

    python bench/report.py bench/out/peers.json [more.json ...] [-o bench/RESULTS.md]

Several files may be given; for a (system, metric) present in more than one, the last file
wins. Standard library only, so any Python 3.11 can run it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import docreport

COLUMNS = (
    "system",
    "drain jobs/s median (min-max)",
    "enqueue/s median (min-max)",
    "bulk/s",
    "latency p50 / p99 ms",
    "versions",
)


def fmt_rate(summary: dict[str, float] | None) -> str:
    """'3,448 (3,229-3,676)' from a {median, min, max} summary; '—' if absent."""
    if not summary:
        return "—"
    return f"{summary['median']:,.0f} ({summary['min']:,.0f}-{summary['max']:,.0f})"


def fmt_median(summary: dict[str, float] | None) -> str:
    """Median only, for secondary columns."""
    return "—" if not summary else f"{summary['median']:,.0f}"


def fmt_latency(summary: dict[str, dict[str, float]] | None) -> str:
    """'4.0 / 12.6' (medians over runs of the per-run p50 and p99)."""
    if not summary:
        return "—"
    return f"{summary['p50']['median']:.1f} / {summary['p99']['median']:.1f}"


def load(paths: list[Path]) -> tuple[list[dict[str, Any]], dict[tuple[str, str], Any]]:
    """Read result files; return their environments and entries keyed by (system, metric)."""
    envs: list[dict[str, Any]] = []
    entries: dict[tuple[str, str], Any] = {}
    for path in paths:
        doc = json.loads(path.read_text())
        envs.append({**doc.get("environment", {}), "file": str(path), "params": doc["params"]})
        for entry in doc["results"]:
            entries[(entry["system"], entry["metric"])] = entry
    return envs, entries


def render(
    envs: list[dict[str, Any]],
    entries: dict[tuple[str, str], Any],
    title: str = "Queues: no-op jobs, 2 workers",
    extra: list[str] | None = None,
) -> str:
    """The Markdown document: table, per-system notes, errors, environment."""
    systems: dict[str, dict[str, Any]] = {}
    for (system, metric), entry in entries.items():
        systems.setdefault(system, {})[metric] = entry

    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    notes: list[str] = []
    errors: list[str] = []
    for system, by_metric in systems.items():
        any_entry = next(iter(by_metric.values()))
        versions = ", ".join(f"{k} {v}" for k, v in any_entry["versions"].items())
        row = [
            f"{system}: {any_entry['label']}",
            fmt_rate(by_metric.get("drain", {}).get("summary")),
            fmt_rate(by_metric.get("enqueue", {}).get("summary")),
            fmt_median(by_metric.get("bulk", {}).get("summary")),
            fmt_latency(by_metric.get("latency", {}).get("summary")),
            versions,
        ]
        lines.append("| " + " | ".join(row) + " |")
        drain_runs = by_metric.get("drain", {}).get("runs", [])
        sizes = sorted({r["jobs"] for r in drain_runs})
        size = f" Drain of {', '.join(f'{s:,}' for s in sizes)} jobs." if sizes else ""
        n_runs = max(len(e["runs"]) for e in by_metric.values())
        load = _load_range([r for e in by_metric.values() for r in e["runs"]])
        runs_word = "run" if n_runs == 1 else "runs"
        notes.append(f"- **{system}** ({n_runs} {runs_word}): {any_entry['notes']}.{size}{load}")
        for metric, entry in by_metric.items():
            for err in entry.get("errors", []):
                errors.append(f"- {system} {metric} run {err['run']}: `{err['error']}`")

    batch = envs[-1]["params"].get("bulk_batch", 0) if envs else 0
    argv = " ".join(envs[-1].get("argv", [])) if envs else ""
    out = [
        f"## {title}",
        "",
        "Produced by `make bench`: `bench/.venv-peers/bin/python bench/peers.py "
        f"{argv}`, then `.venv/bin/python bench/depth.py --runs 3`, then this report "
        "(`bench/report.py`). Every system below was measured in the same run, rounds "
        "interleaved; compare ratios within this run only (the machine is shared and noisy).",
        "",
        *lines,
        "",
        *notes,
        "",
    ]
    out += [
        "Drain = pre-filled queue, N / (last completion - first completion), worker start-up "
        "excluded. Enqueue = one job per call (one transaction) from one client. Bulk = the "
        f"system's batch API, {batch:,} jobs per call. Latency = enqueue call start -> job start, "
        "workers idle, 5-20 ms pauses; p50/p99 are medians over runs of each run's "
        "percentile. Every job records itself in a memory-mapped slot of its process (count, "
        "first/last time; about 1 us), a latency sample also with one Redis RPUSH after its "
        "timestamp (bench/README.md: until 2026-12-02 one Redis EVALSHA per job, which capped "
        "every drain near 4,900 jobs/s).",
        "",
    ]
    out += extra or []
    if errors:
        out += ["### Errors", "", *errors, ""]
    out += ["### Environment", ""]
    for env in envs:
        out.append(
            f"- `{env['file']}`: started {env.get('started', '?')}, {env.get('cpus', '?')} CPUs, "
            f"Python {env.get('python', '?')}, PostgreSQL {env.get('postgresql', '?')}, "
            f"Redis {env.get('redis', '?')}, SQLite {env.get('sqlite', '?')}, "
            f"load average {_load(env.get('loadavg_start'))} → {_load(env.get('loadavg_end'))}, "
            f"elapsed {env.get('elapsed_s', '?')} s"
        )
    return "\n".join(out) + "\n"


GOALS = (
    # (label, metric, Pressroom system, peer system, minimum ratio)
    ("drain, SQLite vs Huey+SQLite", "drain", "pressroom-sqlite", "huey-sqlite", 1.5),
    ("drain, PostgreSQL vs pgqueuer", "drain", "pressroom-postgres", "pgqueuer", 1.5),
    ("enqueue, SQLite vs Huey+SQLite", "enqueue", "pressroom-sqlite", "huey-sqlite", 1.0),
    (
        "enqueue, SQLite FULL vs Huey+SQLite (both fsync)",
        "enqueue",
        "pressroom-sqlite-full",
        "huey-sqlite",
        1.0,
    ),
    ("enqueue, PostgreSQL vs pgqueuer", "enqueue", "pressroom-postgres", "pgqueuer", 1.5),
)


def goals(entries: dict[tuple[str, str], Any], depth: dict[str, Any] | None) -> list[str]:
    """The issue's performance goals, checked against this run's medians."""

    def median(system: str, metric: str) -> float | None:
        summary = entries.get((system, metric), {}).get("summary")
        return None if not summary else float(summary["median"])

    out = [
        "### Goals (medians of this run)",
        "",
        "| goal | measured | target | met |",
        "|---|---|---|---|",
    ]
    for label, metric, mine, peer, target in GOALS:
        a, b = median(mine, metric), median(peer, metric)
        if a is None or b is None:
            continue
        ratio = a / b
        out.append(
            f"| {label} | {a:,.0f} / {b:,.0f} = {ratio:.2f}× | ≥ {target}× | "
            f"{'yes' if ratio >= target else 'no'} |"
        )
    for system in ("pressroom-sqlite", "pressroom-postgres"):
        bulk = median(system, "bulk")
        if bulk is not None:
            out.append(
                f"| bulk, {system} | {bulk:,.0f} jobs/s | ≥ 20,000 | "
                f"{'yes' if bulk >= 20_000 else 'no'} |"
            )
        lat = entries.get((system, "latency"), {}).get("summary")
        if lat:
            p50, p99 = lat["p50"]["median"], lat["p99"]["median"]
            limit = 3.0 if system.endswith("postgres") else 10.0
            out.append(
                f"| latency p50, {system} | {p50:.1f} ms | ≤ {limit:g} ms | "
                f"{'yes' if p50 <= limit else 'no'} |"
            )
            out.append(
                f"| latency p99 / p50, {system} | {p99:.1f} / {p50:.1f} = "
                f"{p99 / p50:.1f} | < 4 | {'yes' if p99 < 4 * p50 else 'no'} |"
            )
    if depth and len(depth) >= 2:
        shallow, deep = (depth[k]["median"] for k in sorted(depth, key=int))
        change = deep / shallow - 1
        out.append(
            f"| PostgreSQL drain at {max(map(int, depth)):,} queued vs "
            f"{min(map(int, depth)):,} | {deep:,.0f} / {shallow:,.0f} ({change:+.0%}) | "
            f"within ±20% | {'yes' if abs(change) <= 0.2 else 'no'} |"
        )
        plan = depth[max(depth, key=int)]["plan"]
        out += [
            "",
            "Claim plan at the deepest queue (`EXPLAIN` of the claim query):",
            "",
            "```",
            *plan,
            "```",
        ]
    return [*out, ""]


def _load_range(runs: list[dict[str, Any]]) -> str:
    """' Other load before runs 0-12% CPU; steal 1-9%.' from the runs' machine-load fields."""
    bg = [r["background_busy_pct"] for r in runs if "background_busy_pct" in r]
    steal = [r["steal_pct"] for r in runs if "steal_pct" in r]
    if not bg or not steal:
        return ""
    return (
        f" Other load before runs {min(bg):.0f}-{max(bg):.0f}% CPU; "
        f"steal during runs {min(steal):.0f}-{max(steal):.0f}%."
    )


def _load(values: list[float] | None) -> str:
    return "?" if not values else "/".join(f"{v:.2f}" for v in values)


SECTION_BEGIN = "<!-- section:"
SECTION_END = "<!-- /section -->"


def kept_sections(old: str) -> str:
    """Sections other benchmarks wrote into the old report ``old`` between
    ``<!-- section:NAME -->`` and ``<!-- /section -->`` (bench/http_bench.py does), each with
    the notes written after its end marker, carried over when this report is rewritten."""
    out = []
    start = old.find(SECTION_BEGIN)
    while start != -1:
        if old.find(SECTION_END, start) == -1:
            break
        following = old.find(SECTION_BEGIN, start + len(SECTION_BEGIN))
        out.append(old[start : len(old) if following == -1 else following].strip("\n"))
        start = following
    return "".join(f"\n{block}\n" for block in out)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description="Render peers.py JSON results as Markdown.")
    ap.add_argument("results", nargs="+", type=Path)
    ap.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    ap.add_argument("--title", default="Queues: no-op jobs, 2 workers")
    ap.add_argument("--depth", type=Path, help="bench/depth.py results to include")
    args = ap.parse_args(argv)
    envs, entries = load(args.results)
    depth = json.loads(args.depth.read_text()) if args.depth and args.depth.exists() else None
    text = render(envs, entries, title=args.title, extra=goals(entries, depth))
    if args.output:
        old = args.output.read_text() if args.output.exists() else ""
        tail = ""
        if docreport.BEGIN in old:  # keep the documents section and the notes after it
            tail = old[old.index(docreport.BEGIN) :]
            old = old[: old.index(docreport.BEGIN)]
        text += kept_sections(old)
        if tail:
            text = text.rstrip("\n") + "\n\n" + tail
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
