"""Turn bench/documents.py results into the "Documents" section of bench/RESULTS.md.

Usage::

    python bench/docreport.py bench/out/documents.json [-o bench/RESULTS.md]

The section goes between the marker comments below, replacing an earlier one; the rest of the
file (the queue benchmark's sections) is left as it is. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

BEGIN = "<!-- documents:begin (bench/docreport.py) -->"
END = "<!-- documents:end -->"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


def _range(summary: dict[str, float], fmt: str = "{:,.2f}") -> str:
    return (
        f"{fmt.format(summary['median'])} "
        f"({fmt.format(summary['min'])}–{fmt.format(summary['max'])})"
    )


def _load(runs: list[dict[str, Any]]) -> str:
    steal = [r["steal_pct"] for r in runs if "steal_pct" in r]
    other = [r["background_busy_pct"] for r in runs if "background_busy_pct" in r]
    if not steal:
        return "—"
    return (
        f"other load {min(other):.0f}–{max(other):.0f}%, steal {min(steal):.0f}–{max(steal):.0f}%"
    )


def _cpu(entry: dict[str, Any]) -> str:
    """Median CPU milliseconds per document of both sides (runs before it was measured: —)."""

    def median(side: str, key: str) -> float | None:
        values = [r[key] for r in entry.get(side, []) if key in r]
        return statistics.median(values) if values else None

    pressroom, supervisor = (
        median("pressroom", "cpu_ms_per_doc"),
        median("pressroom", "cpu_ms_supervisor"),
    )
    bare = median("bare", "cpu_ms_per_doc")
    if pressroom is None or supervisor is None or bare is None:
        return "—"
    return f"{pressroom:.1f} ({supervisor:.1f}) / {bare:.1f}"


def goals(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's performance goals against this run's figures."""
    out: list[dict[str, Any]] = []
    for entry in doc.get("overhead", {}).values():
        if entry.get("ratio") is not None:
            p, b = entry["pressroom_summary"]["median"], entry["bare_summary"]["median"]
            out.append(
                {
                    "goal": f"overhead, {entry['label']}: Pressroom / bare loop (docs/s)",
                    "measured": f"{p:.2f} / {b:.2f} = {entry['ratio']:.0%}",
                    "target": "≥ 90%",
                    "met": entry["ratio"] >= 0.9,
                }
            )
    speed = doc.get("speed", {}).get("summary", {})

    def faster(slow: str, fast: str, label: str) -> None:
        if slow in speed and fast in speed:
            s, f = speed[slow]["median"], speed[fast]["median"]
            out.append(
                {
                    "goal": label,
                    "measured": f"{s * 1000:,.0f} / {f * 1000:,.0f} ms = {s / f:.1f}×",
                    "target": "≥ 5×",
                    "met": s / f >= 5,
                }
            )

    faster("invoice/html", "invoice/typst", "typst invoice vs html invoice (median render)")
    faster("report/html", "report/typst", "20-page report, typst vs html")
    faster("report/html", "report/chromium", "20-page report, chromium vs html")
    limits = {"html-invoices": 300, "typst-reports": 500}
    for key, run in doc.get("memory", {}).items():
        if "max_rss_mb" in run:
            out.append(
                {
                    "goal": f"worker child RSS across {run['documents']:,} {run['label']}"
                    + (
                        f" (stopped at the deadline; {run['planned']:,} planned)"
                        if run.get("partial")
                        else ""
                    ),
                    "measured": f"{run['max_rss_mb']:.0f} MB peak ({run['children']} child "
                    f"process{'es' if run['children'] != 1 else ''})",
                    "target": f"< {limits[key]} MB",
                    "met": run["max_rss_mb"] < limits[key],
                }
            )
    xlsx = doc.get("xlsx")
    if xlsx:
        out.append(
            {
                "goal": f"xlsx {xlsx['rows']:,} x {xlsx['columns']}, peak RSS of a fresh process",
                "measured": f"{xlsx['maxrss_mb']:.0f} MB ({xlsx['seconds']:.1f} s)",
                "target": "< 150 MB",
                "met": xlsx["maxrss_mb"] < 150,
            }
        )
    return out


def merge(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several result files as one: a later file's xlsx, speed and memory sections, and each of
    its overhead entries, replace the earlier ones. ``runs`` lists every file's environment and
    each section notes which run (1-based) it comes from."""
    out: dict[str, Any] = {"environment": docs[0]["environment"], "params": docs[0]["params"]}
    out["runs"] = [d["environment"] for d in docs]
    for number, doc in enumerate(docs, start=1):
        for key in ("xlsx", "speed", "memory"):
            if key in doc:
                out[key] = doc[key]
                out.setdefault("from_run", {})[key] = number
                if key == "memory":
                    out["params"] = {
                        **out["params"],
                        "memory_alongside": doc["params"].get("memory_alongside"),
                    }
        for case, entry in doc.get("overhead", {}).items():
            out.setdefault("overhead", {})[case] = {**entry, "run": number}
    out["goals"] = goals(out)
    return out


def render(doc: dict[str, Any]) -> str:
    """The Markdown section."""
    env = doc["environment"]
    runs = doc.get("runs") or [env]
    made = "; then ".join(
        f"run {i}: `{r['command']}` (started {r['started']}, {r.get('elapsed_s', 0) / 60:.0f} min)"
        for i, r in enumerate(runs, start=1)
    )
    lines = [
        "## Documents: render jobs against bare library loops",
        "",
        f"Produced by `make bench-docs`: {made}; then `bench/docreport.py`. Every ratio below "
        "compares figures measured in the same run (the run is named where there are two), "
        "with a different data set for every render (Typst memoizes). The machine has 2 CPUs "
        "shared with other work: compare ratios within a run only.",
        "",
        "### Goals",
        "",
        "| goal | measured | target | met |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {g['goal']} | {g['measured']} | {g['target']} | {'yes' if g['met'] else 'no'} |"
        for g in doc.get("goals", [])
    ]
    overhead = doc.get("overhead", {})
    if overhead:
        lines += [
            "",
            "### Overhead: documents per second, 2 processes",
            "",
            "| document | Pressroom docs/s median (min–max) | bare loop docs/s median (min–max) "
            "| ratio of medians (per round) | CPU ms per document, Pressroom (supervisor) / bare "
            "| documents per measurement | run, load |",
            "|---|---|---|---|---|---|---|",
        ]
        for entry in overhead.values():
            p, b = entry.get("pressroom_summary"), entry.get("bare_summary")
            if not p or not b:
                continue
            rounds = ", ".join(f"{r:.0%}" for r in entry.get("ratios_per_round", []))
            measured = entry["pressroom"] + entry["bare"]
            lines.append(
                f"| {entry['label']} | {_range(p)} | {_range(b)} | {entry['ratio']:.0%} "
                f"({rounds}) | {_cpu(entry)} | {entry['pressroom'][0]['documents']} | "
                f"{entry.get('run', 1)}: {_load(measured)} |"
            )
            lines += [f"| ↳ error | {e} | | | | |" for e in entry.get("errors", [])]
        lines += [
            "",
            "Pressroom: the jobs are submitted in one transaction to a fresh SQLite database, "
            "then `pressroom worker -c 2` starts; rate = documents / (last − first "
            "`finished_at`), so start-up is excluded; every document is stored in a local "
            "artifact folder (written to a temporary name and renamed; not fsynced, as the "
            "database runs SQLite's default `synchronous=NORMAL`). Bare loop: 2 processes call the "
            "library directly on the same templates and data (Jinja2 with the same formatting "
            "helpers + WeasyPrint with one font configuration; one typst-py `Compiler`; "
            "docxtpl) and write each document to a file; rate = documents / (last − first "
            "write). Both sides run in one session each (the kernel's autogroup scheduler "
            "gives each session one share of the CPU), rounds alternate which goes first. "
            "CPU per document (psutil, from a tenth of the documents done to the last) counts "
            "the worker's supervisor and children, and the bare loop's processes.",
        ]
    speed = doc.get("speed")
    if speed:
        lines += [
            "",
            "### Renderers, one warm process (Pressroom's renderers, engines interleaved)",
            "",
            "| document | engine | median ms (min–max) | renders | pages (last render) |",
            "|---|---|---|---|---|",
        ]
        for key, summary in speed["summary"].items():
            kind, engine = key.split("/")
            label = "invoice" if kind == "invoice" else "report, 1,000-row table"
            lines.append(
                f"| {label} | {engine} | {_ms(summary['median'])} "
                f"({_ms(summary['min'])}–{_ms(summary['max'])}) | {len(speed['times'][key])} "
                f"| {speed['pages'][key]} |"
            )
        lines += [
            "",
            f"Run {doc.get('from_run', {}).get('speed', 1)}; load during this phase: "
            f"{_load([speed])}. The html and chromium engines share the "
            "template (`examples/invoice`, `bench/templates/report-html`); the Typst ones "
            "(`bench/templates/invoice-typst`, `bench/templates/report-typst`) lay out the same "
            "data the same way (the Typst invoice has no QR code or barcode: those need Typst "
            "packages, which Pressroom does not download).",
        ]
    memory = doc.get("memory")
    if memory:
        lines += [
            "",
            "### Memory: one worker child over a long run",
            "",
            "| run | documents | child peak RSS | child processes | mean job s | RSS over time "
            "(s: MB) |",
            "|---|---|---|---|---|---|",
        ]
        for run in memory.values():
            timeline = run.get("timeline", [])
            step = max(1, len(timeline) // 8)
            sampled = ", ".join(f"{t:.0f}: {m:.0f}" for t, m in timeline[::step])
            lines.append(
                f"| {run['label']} | {run['documents']:,} | {run['max_rss_mb']:.0f} MB | "
                f"{run['children']} | {run['mean_job_s']:.2f} | {sampled} |"
            )
        lines += [
            "",
            "`pressroom worker -c 1` (defaults: `--max-memory-mb 512`, "
            "`PRESSROOM_TYPST_CACHE_MB=128`); the child's RSS sampled with psutil every "
            "0.25 s. More than one child process means the supervisor recycled one. The two "
            "runs ran side by side"
            + (", alongside the other phases." if doc["params"].get("memory_alongside") else ".")
            + f" Run {doc.get('from_run', {}).get('memory', 1)}; load: "
            + _load(list(memory.values()))
            + ".",
        ]
    xlsx = doc.get("xlsx")
    if xlsx:
        lines += [
            "",
            "### XLSX in constant memory",
            "",
            f"Run {doc.get('from_run', {}).get('xlsx', 1)}: {xlsx['rows']:,} rows × "
            f"{xlsx['columns']} columns (strings, dates, integers, "
            f"currency, percent, booleans) through the `xlsx` engine (xlsxwriter, constant "
            f"memory) in a fresh process: {xlsx['seconds']:.1f} s, "
            f"{xlsx['size_bytes'] / 2**20:.1f} MB file. Peak RSS (`VmHWM`) "
            f"{xlsx['maxrss_after_imports_mb']:.0f} MB after imports and a 10-row warm-up, "
            f"{xlsx['maxrss_after_data_mb']:.0f} MB with the data in memory, "
            f"{xlsx['maxrss_mb']:.0f} MB after the render.",
        ]
    versions = ", ".join(f"{k} {v}" for k, v in env.get("versions", {}).items())
    lines += [
        "",
        "### Environment",
        "",
        f"- {env['cpus']} CPUs, Python {env['python']}, SQLite {env['sqlite']}, {env['platform']}",
        f"- {versions}",
    ]
    for number, run in enumerate(runs, start=1):
        start = "/".join(f"{v:.2f}" for v in run["loadavg_start"])
        end = "/".join(f"{v:.2f}" for v in run.get("loadavg_end", []))
        lines.append(f"- run {number}: load average {start} → {end}")
    return "\n".join([BEGIN, *lines, END]) + "\n"


def splice(existing: str, section: str) -> str:
    """``existing`` with its documents section replaced by ``section`` (appended if absent)."""
    if BEGIN in existing and END in existing:
        head, rest = existing.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        return head + section.rstrip("\n") + tail
    return existing.rstrip("\n") + "\n\n" + section if existing.strip() else section


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path, nargs="+", help="later files override earlier ones")
    ap.add_argument("-o", "--output", type=Path, help="splice into this file (else stdout)")
    args = ap.parse_args(argv)
    section = render(merge([json.loads(path.read_text()) for path in args.results]))
    if args.output:
        existing = args.output.read_text() if args.output.exists() else ""
        args.output.write_text(splice(existing, section))
    else:
        sys.stdout.write(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
