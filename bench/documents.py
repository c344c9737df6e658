"""Documents benchmark: Pressroom's render jobs against bare library loops, engine against engine,
memory over long runs, and a big workbook, all in ONE run (the machine is shared and noisy, so
only ratios within one run mean anything).

Run with the project's interpreter: ``.venv/bin/python bench/documents.py [--quick]`` (or
``make bench-docs``). Every render gets a different data set (``docdata``): Typst memoizes,
and a loop over one data set measures its cache. Phases:

1. **xlsx**: a fresh process renders 100,000 rows x 10 columns through the ``xlsx`` engine;
   its peak RSS (``VmHWM``).
2. **speed**: one warm process renders invoices (html, typst, chromium) and the ~20-page
   report with a 1,000-row table (typst, chromium, html) through Pressroom's renderers,
   engines interleaved; medians.
3. **overhead**: for the html, typst and docx invoices, documents/second through Pressroom
   (jobs pre-filled in a fresh SQLite database, ``pressroom worker -c 2``, documents in a
   local artifact folder; rate from the first to the last ``finished_at``) and through a bare
   loop (the library called directly in 2 processes on the same templates and data; rate from
   the first to the last document written). Rounds interleave the two and the engines.
4. **memory**: ``pressroom worker -c 1`` renders 1,000 html invoices, and another renders 200
   different 20-page typst reports, side by side; the children's RSS is sampled with psutil.

The processes and measurements (``Proc``, ``Queue``, ``CpuMeter``, ``Load``, ...) are in
``docmeasure.py``, the memory phase in ``docmemory.py``, the data sets and seeds in
``docdata.py``; the bare loops and probes run as subprocesses of ``docprobe.py``.

Writes ``bench/out/documents.json``; ``bench/docreport.py`` turns it into the "Documents"
section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import docdata
from docdata import Seeds
from docmeasure import BENCH, OUT, ROOT, WORK, CpuMeter, Load, Proc, Queue, wait_jobs
from docmemory import MemoryPhase
from docreport import goals
from machine import summarize
from make_docx_invoice import write_template

DISTRIBUTIONS = (
    "pressroom",
    "weasyprint",
    "typst",
    "docxtpl",
    "python-docx",
    "xlsxwriter",
    "playwright",
    "jinja2",
)


@dataclass(frozen=True)
class Case:
    """One kind of document of the overhead phase."""

    key: str
    label: str
    engine: str
    folder: Path
    fmt: str


def cases() -> dict[str, Case]:
    """The three invoices (the docx template is generated here, into bench/out)."""
    docx = write_template(OUT / "templates" / "invoice-docx")
    return {
        "html": Case("html", "html invoice (WeasyPrint)", "html", ROOT / "examples/invoice", "pdf"),
        "typst": Case("typst", "typst invoice", "typst", BENCH / "templates/invoice-typst", "pdf"),
        "docx": Case("docx", "docx invoice (docxtpl)", "docx", docx, "docx"),
    }


# --------------------------------------------------------------------------------------------
# Overhead: Pressroom against the bare loop


def run_pressroom(
    case: Case, datas: list[dict[str, Any]], timeout: float, src: Path | None = None
) -> dict[str, Any]:
    """Documents/second through Pressroom: pre-filled queue, ``pressroom worker -c 2``
    (``src``: the worker imports Pressroom from that source folder instead)."""
    queue = Queue(WORK / f"pressroom-{case.key}")
    prefill_s = queue.fill("invoice", case.folder, case.fmt, datas)
    load = Load.begin()
    env = {"PYTHONPATH": str(src)} if src is not None else {}
    worker = queue.start_worker(2, "documents-worker.log", env)
    meter = CpuMeter(worker.pid, len(datas))
    try:
        got = wait_jobs(queue, len(datas), worker, timeout, meter)
    finally:
        worker.stop()
    span = got["last"] - got["first"]
    return {
        "value": len(datas) / span,
        "documents": len(datas),
        "span_s": span,
        "prefill_s": prefill_s,
        "mean_job_s": got["mean_job_s"],
        **meter.per_document(),
        **load.end(),
    }


def run_bare(case: Case, datas: list[dict[str, Any]], timeout: float) -> dict[str, Any]:
    """Documents/second through the bare library loop in 2 processes."""
    folder = WORK / f"bare-{case.key}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    data_file = folder / "data.jsonl"
    data_file.write_text("".join(json.dumps(d) + "\n" for d in datas))
    load = Load.begin()
    argv = [sys.executable, str(BENCH / "docprobe.py"), "bare", "--engine", case.engine]
    argv += ["--template", str(case.folder), "--data", str(data_file), "--shards", "2"]
    argv += ["--out", str(folder / "out")]
    # One new session for both processes, as for the worker and its children: with the
    # kernel's autogroup scheduling each session gets one share of the CPU under load.
    proc = subprocess.Popen(argv, cwd=BENCH, stdout=subprocess.PIPE, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"bare loop exited with {proc.returncode}")
    results = [json.loads(out)]
    done = [t for r in results for t in r["done"]]
    if len(done) != len(datas):
        raise RuntimeError(f"bare loop wrote {len(done)} of {len(datas)} documents")
    span = max(done) - min(done)
    cpu_docs = sum(len(r["cpu"]) - 1 for r in results[0]["shards"])
    cpu_s = sum(r["cpu"][-1] - r["cpu"][0] for r in results[0]["shards"] if r["cpu"])
    return {
        "value": len(datas) / span,
        "documents": len(datas),
        "span_s": span,
        **({"cpu_ms_per_doc": cpu_s * 1000 / cpu_docs} if cpu_docs > 0 else {}),
        **load.end(),
    }


def phase_overhead(args: argparse.Namespace, seeds: Seeds, doc: dict[str, Any]) -> None:
    """Rounds of (Pressroom, bare[, base]) per invoice engine; the order rotates each round."""
    counts = {"html": args.html_docs, "typst": args.typst_docs, "docx": args.docx_docs}
    all_cases = cases()
    section = doc.setdefault("overhead", {})
    systems = ["pressroom", "bare"] + (["base"] if args.base_src else [])
    base_src = args.base_src / "src" if args.base_src else None
    for round_index in range(args.rounds):
        for key in args.overhead_cases:
            case = all_cases[key]
            entry = section.setdefault(
                key, {"label": case.label, "pressroom": [], "bare": [], "errors": []}
            )
            datas = [docdata.invoice(s) for s in seeds.take(counts[key])]
            shift = round_index % len(systems)
            for system in systems[shift:] + systems[:shift]:
                try:
                    if system == "bare":
                        result = run_bare(case, datas, args.run_timeout)
                    else:
                        src = base_src if system == "base" else None
                        result = run_pressroom(case, datas, args.run_timeout, src)
                except Exception as exc:
                    entry["errors"].append(f"round {round_index + 1} {system}: {exc!r}")
                    print(f"[overhead {round_index + 1}] {key} {system}: ERROR {exc!r}")
                    continue
                entry.setdefault(system, []).append(result)
                cpu = result.get("cpu_ms_per_doc")
                print(
                    f"[overhead {round_index + 1}/{args.rounds}] {key:5} {system:9} "
                    f"{result['value']:7.2f} docs/s ({result['documents']} in "
                    f"{result['span_s']:.1f} s; CPU "
                    + (f"{cpu:.1f} ms/doc" if cpu is not None else "?")
                    + f"; steal {result['steal_pct']:.0f}%, "
                    f"other load {result['background_busy_pct']:.0f}%)",
                    flush=True,
                )
            summarize_overhead(entry)
            save(args, doc)


def summarize_overhead(entry: dict[str, Any]) -> None:
    """Medians of each side (docs/s and CPU ms per document) and the ratios of medians."""
    for side in ("pressroom", "bare", "base"):
        if side not in entry:
            continue
        values = [r["value"] for r in entry[side]]
        entry[f"{side}_summary"] = summarize(values) if values else None
        cpu = [r["cpu_ms_per_doc"] for r in entry[side] if "cpu_ms_per_doc" in r]
        entry[f"{side}_cpu_ms_per_doc"] = summarize(cpu) if cpu else None
    if entry["pressroom_summary"] and entry["bare_summary"]:
        pairs = list(zip(entry["pressroom"], entry["bare"], strict=False))
        entry["ratio"] = entry["pressroom_summary"]["median"] / entry["bare_summary"]["median"]
        entry["ratios_per_round"] = [p["value"] / b["value"] for p, b in pairs]
    if entry.get("base_summary") and entry["bare_summary"]:
        pairs = list(zip(entry["base"], entry["bare"], strict=False))
        entry["base_ratio"] = entry["base_summary"]["median"] / entry["bare_summary"]["median"]
        entry["base_ratios_per_round"] = [p["value"] / b["value"] for p, b in pairs]


# --------------------------------------------------------------------------------------------
# Speed and xlsx (subprocesses of docprobe.py)


def probe(argv: list[str], timeout: float) -> dict[str, Any]:
    """Run ``docprobe.py`` with ``argv`` in a fresh process; its JSON and the machine load."""
    load = Load.begin()
    out = subprocess.run(
        [sys.executable, str(BENCH / "docprobe.py"), *argv],
        cwd=BENCH,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"docprobe {argv[0]} failed: {out.stderr[-2000:]}")
    return {**json.loads(out.stdout), **load.end()}


def phase_speed(args: argparse.Namespace, doc: dict[str, Any]) -> None:
    """Per-render times through Pressroom's renderers, engines interleaved, one process."""
    argv = ["speed", "--invoices", str(args.speed_invoices), "--reports", str(args.reports)]
    result = probe(argv, timeout=args.run_timeout * 4)
    result["summary"] = {k: summarize(v) for k, v in result["times"].items()}
    doc["speed"] = result
    for key, summary in result["summary"].items():
        print(
            f"[speed] {key:17} median {summary['median'] * 1000:8.0f} ms "
            f"({summary['min'] * 1000:.0f}-{summary['max'] * 1000:.0f}), "
            f"{result['pages'][key]} pages",
            flush=True,
        )
    save(args, doc)


def phase_xlsx(args: argparse.Namespace, doc: dict[str, Any]) -> None:
    """A 100,000 x 10 workbook in a fresh process; its peak RSS."""
    result = probe(["xlsx", "--rows", str(args.xlsx_rows)], timeout=args.run_timeout * 2)
    doc["xlsx"] = result
    print(
        f"[xlsx] {result['rows']:,} x {result['columns']} in {result['seconds']:.1f} s, "
        f"peak RSS {result['maxrss_mb']:.0f} MB (after imports "
        f"{result['maxrss_after_imports_mb']:.0f}, with the data "
        f"{result['maxrss_after_data_mb']:.0f})",
        flush=True,
    )
    save(args, doc)


# --------------------------------------------------------------------------------------------
# Goals, environment, output


def versions() -> dict[str, str]:
    """Versions of the libraries measured, and of Chromium."""
    out = {}
    for name in DISTRIBUTIONS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    from pressroom.renderers.settings import RendererSettings

    chromium = RendererSettings().find_chromium()
    if chromium:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            got = subprocess.run(
                [chromium, "--version"], capture_output=True, text=True, timeout=30
            )
            out["chromium"] = got.stdout.strip()
    return out


def environment(argv: list[str]) -> dict[str, Any]:
    """Facts about the machine beside the results."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
        "loadavg_start": os.getloadavg(),
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python", "bench/documents.py", *argv]),
        "versions": versions(),
    }


def save(args: argparse.Namespace, doc: dict[str, Any]) -> None:
    """Write the results so far (goals recomputed), so an interrupted run keeps its figures."""
    doc["goals"] = goals(doc)
    doc["environment"]["loadavg_end"] = os.getloadavg()
    doc["environment"]["elapsed_s"] = round(time.monotonic() - args.t0, 1)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(doc, indent=1) + "\n")


PHASES = ("xlsx", "speed", "overhead", "memory")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line interface."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small counts, one round (iteration)")
    ap.add_argument("--phase", action="append", choices=PHASES, help="only these (repeatable)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--overhead-cases",
        type=lambda v: [c for c in v.split(",") if c],
        default=["html", "typst", "docx"],
        help="invoices of the overhead phase (default: html,typst,docx)",
    )
    ap.add_argument("--html-docs", type=int, default=80)
    ap.add_argument("--typst-docs", type=int, default=400)
    ap.add_argument("--docx-docs", type=int, default=300)
    ap.add_argument("--speed-invoices", type=int, default=20)
    ap.add_argument("--reports", type=int, default=4, help="renders of the report per engine")
    ap.add_argument("--memory-invoices", type=int, default=1000)
    ap.add_argument("--memory-reports", type=int, default=200)
    ap.add_argument("--xlsx-rows", type=int, default=100_000)
    ap.add_argument("--run-timeout", type=float, default=300.0)
    ap.add_argument("--memory-timeout", type=float, default=1800.0)
    ap.add_argument(
        "--memory-alongside",
        action="store_true",
        help="run the memory phase's workers while the other phases run (saves ~15 min; "
        "adds the same load to both sides of every ratio)",
    )
    ap.add_argument(
        "--base-src",
        type=Path,
        help="also measure the Pressroom of this checkout (its src/ first on PYTHONPATH) in "
        "every overhead round, for an A/B comparison (e.g. a `git worktree` of the base commit)",
    )
    ap.add_argument("--json", type=Path, default=OUT / "documents.json")
    if "--quick" in (argv or []):
        ap.set_defaults(
            rounds=1,
            html_docs=16,
            typst_docs=80,
            docx_docs=60,
            speed_invoices=5,
            reports=1,
            memory_invoices=60,
            memory_reports=12,
            xlsx_rows=20_000,
        )
    args = ap.parse_args(argv)
    args.phases = args.phase or list(PHASES)
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the phases in order; print progress; write the JSON."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    args.t0 = time.monotonic()
    doc: dict[str, Any] = {"environment": environment(argv), "params": {}}
    doc["params"] = {
        k: str(v) if isinstance(v, Path) else v
        for k, v in vars(args).items()
        if k not in ("json", "t0", "phase")
    }
    seeds = Seeds()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    memory: MemoryPhase | None = None
    try:
        if "memory" in args.phases and args.memory_alongside:
            memory = MemoryPhase(args, seeds)
        for phase in args.phases:
            if phase == "xlsx":
                phase_xlsx(args, doc)
            elif phase == "speed":
                phase_speed(args, doc)
            elif phase == "overhead":
                phase_overhead(args, seeds, doc)
            elif memory is None:
                memory = MemoryPhase(args, seeds)
        if memory is not None:
            memory.wait(doc)
    finally:
        Proc.stop_all()
        save(args, doc)
    for goal in doc["goals"]:
        print(f"{'met' if goal['met'] else 'MISSED':6} {goal['goal']}: {goal['measured']}")
    print(f"total {time.monotonic() - args.t0:.0f} s; results in {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
