"""Turn bench/documents.py results into the "Documents" section of bench/RESULTS.md.

Usage::

    python bench/docreport.py bench/out/documents.json [-o bench/RESULTS.md]

The section goes between the marker comments below, replacing an earlier one; the rest of the
file (the queue benchmark's sections) is left as it is. Standard library only.
"""

from __future__ import annotations

import argparse
import json
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


def render(doc: dict[str, Any]) -> str:
    """The Markdown section."""
    env = doc["environment"]
    lines = [
        "## Documents: render jobs against bare library loops",
        "",
        f"Produced by `{env['command']}` (`make bench-docs`), then `bench/docreport.py`; "
        f"started {env['started']}, {env.get('elapsed_s', 0) / 60:.0f} min. Everything below "
        "was measured in that one run, with a different data set for every render (Typst "
        "memoizes). The machine has 2 CPUs shared with other work: compare ratios within "
        "this run only.",
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
            "| ratio of medians (per round) | documents per run | load |",
            "|---|---|---|---|---|---|",
        ]
        for entry in overhead.values():
            p, b = entry.get("pressroom_summary"), entry.get("bare_summary")
            if not p or not b:
                continue
            rounds = ", ".join(f"{r:.0%}" for r in entry.get("ratios_per_round", []))
            runs = entry["pressroom"] + entry["bare"]
            lines.append(
                f"| {entry['label']} | {_range(p)} | {_range(b)} | {entry['ratio']:.0%} "
                f"({rounds}) | {entry['pressroom'][0]['documents']} | {_load(runs)} |"
            )
            lines += [f"| ↳ error | {e} | | | | |" for e in entry.get("errors", [])]
        lines += [
            "",
            "Pressroom: the jobs are submitted in one transaction to a fresh SQLite database, "
            "then `pressroom worker -c 2` starts; rate = documents / (last − first "
            "`finished_at`), so start-up is excluded; every document is stored in a local "
            "artifact folder (written, fsynced, renamed). Bare loop: 2 processes call the "
            "library directly on the same templates and data (Jinja2 with the same formatting "
            "helpers + WeasyPrint with one font configuration; one typst-py `Compiler`; "
            "docxtpl) and write each document to a file; rate = documents / (last − first "
            "write). Both sides run in one session each (the kernel's autogroup scheduler "
            "gives each session one share of the CPU), rounds alternate which goes first.",
        ]
    speed = doc.get("speed")
    if speed:
        lines += [
            "",
            "### Renderers, one warm process (Pressroom's renderers, engines interleaved)",
            "",
            "| document | engine | median ms (min–max) | renders | pages |",
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
            f"Load during this phase: {_load([speed])}. The html and chromium engines share the "
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
            + f" Load: {_load(list(memory.values()))}.",
        ]
    xlsx = doc.get("xlsx")
    if xlsx:
        lines += [
            "",
            "### XLSX in constant memory",
            "",
            f"{xlsx['rows']:,} rows × {xlsx['columns']} columns (strings, dates, integers, "
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
        f"- load average {'/'.join(f'{v:.2f}' for v in env['loadavg_start'])} → "
        f"{'/'.join(f'{v:.2f}' for v in env.get('loadavg_end', []))}",
    ]
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
    ap.add_argument("results", type=Path)
    ap.add_argument("-o", "--output", type=Path, help="splice into this file (else stdout)")
    args = ap.parse_args(argv)
    section = render(json.loads(args.results.read_text()))
    if args.output:
        existing = args.output.read_text() if args.output.exists() else ""
        args.output.write_text(splice(existing, section))
    else:
        sys.stdout.write(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
