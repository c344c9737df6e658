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
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

import docdata
from docreport import goals
from machine import CpuTimes, background_busy, summarize
from make_docx_invoice import write_template
from pressroom.artifacts import open_artifacts
from pressroom.documents import templates as tpl
from pressroom.documents.task import RENDER_TASK
from pressroom.service import Pressroom
from pressroom.store import open_store

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
WORK = OUT / "documents"
LOGS = OUT / "logs"
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


class Seeds:
    """Hands out data-set seeds never used before in this run."""

    def __init__(self, start: int = 1) -> None:
        self.next = start

    def take(self, n: int) -> list[int]:
        """``n`` fresh seeds."""
        out = list(range(self.next, self.next + n))
        self.next += n
        return out


@dataclass
class Load:
    """Machine load around one measurement: other load before it, busy and steal during it."""

    background_busy_pct: float = 0.0
    started: CpuTimes = field(default_factory=CpuTimes.now)

    @classmethod
    def begin(cls) -> Load:
        """Probe other load for 0.5 s, then start counting."""
        return cls(background_busy())

    def end(self) -> dict[str, float]:
        """Busy and steal percentages since :meth:`begin`, plus the background probe."""
        usage = CpuTimes.now().usage_since(self.started)
        return {"background_busy_pct": self.background_busy_pct, **usage}


# --------------------------------------------------------------------------------------------
# Processes


class Proc:
    """A process started by the benchmark, in its own session, stopped by process group."""

    live: set[Proc] = set()

    def __init__(self, argv: list[str], env: dict[str, str], log_name: str) -> None:
        """Start ``argv`` with ``env`` added; output goes to ``bench/out/logs/<log_name>``."""
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log = (LOGS / log_name).open("ab")
        self.log.write(f"$ {' '.join(argv)}\n".encode())
        self.log.flush()
        self.popen = subprocess.Popen(
            argv,
            cwd=BENCH,
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        Proc.live.add(self)

    @property
    def pid(self) -> int:
        """The process id."""
        return self.popen.pid

    def check_alive(self) -> None:
        """Raise if the process has exited."""
        if self.popen.poll() is not None:
            raise RuntimeError(f"{self.popen.args!r} exited with {self.popen.returncode}")

    def stop(self, grace: float = 30.0) -> None:
        """SIGTERM the group, wait up to ``grace`` s, then SIGKILL it."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)
        self.log.close()
        Proc.live.discard(self)

    @classmethod
    def stop_all(cls) -> None:
        """Stop every process still running (on errors and interrupts)."""
        for proc in list(cls.live):
            proc.stop(grace=5)


def worker_children(worker: psutil.Process) -> list[psutil.Process]:
    """The supervisor's job children (not multiprocessing's resource tracker)."""
    out = []
    for child in worker.children():
        with contextlib.suppress(psutil.Error):
            if "resource_tracker" not in " ".join(child.cmdline()):
                out.append(child)
    return out


# --------------------------------------------------------------------------------------------
# Pressroom: a pre-filled queue, a real worker


class Queue:
    """A fresh SQLite database and artifact folder with render jobs waiting."""

    def __init__(self, folder: Path) -> None:
        """Start from an empty ``folder``."""
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.folder = folder
        self.db_path = folder / "pressroom.db"
        self.url = f"sqlite:///{self.db_path}"
        self.storage = str(folder / "artifacts")

    def fill(self, name: str, template: Path, fmt: str, datas: list[dict[str, Any]]) -> float:
        """Store the template, submit one render job per data set in one transaction;
        return the seconds it took."""
        store = open_store(self.url)
        store.migrate()
        app = Pressroom(store, artifacts=open_artifacts(self.storage))
        try:
            app.template_push(name, tpl.load_path(template))
            t0 = time.perf_counter()
            jobs = [
                app.build_job(RENDER_TASK, {"template": name, "data": data, "format": fmt})
                for data in datas
            ]
            app.submit_many(jobs)
            return time.perf_counter() - t0
        finally:
            app.close()

    def start_worker(
        self, concurrency: int, log_name: str, extra_env: dict[str, str] | None = None
    ) -> Proc:
        """``pressroom worker -c N`` on this database and artifact folder."""
        env = {"PRESSROOM_DATABASE_URL": self.url, "PRESSROOM_STORAGE_URL": self.storage}
        env.update(extra_env or {})
        argv = [sys.executable, "-m", "pressroom", "worker", "-c", str(concurrency)]
        return Proc(argv, env, log_name)

    def finished(self, conn: sqlite3.Connection) -> int:
        """How many jobs have a final status."""
        row = conn.execute(
            "SELECT count(*) FROM jobs WHERE status IN ('succeeded', 'failed', 'cancelled')"
        ).fetchone()
        return int(row[0])

    def outcome(self, conn: sqlite3.Connection, n: int) -> dict[str, Any]:
        """Check every job succeeded and stored a document; the completion span."""
        bad = conn.execute(
            "SELECT status, error FROM jobs WHERE status != 'succeeded' LIMIT 1"
        ).fetchone()
        if bad is not None:
            raise RuntimeError(f"a render job ended {bad[0]}: {str(bad[1])[:500]}")
        first, last, mean_run = conn.execute(
            "SELECT min(finished_at), max(finished_at), avg(finished_at - started_at) FROM jobs"
        ).fetchone()
        stored = sum(1 for p in Path(self.storage).rglob("*") if p.is_file())
        if stored != n:
            raise RuntimeError(f"{stored} documents stored for {n} jobs")
        return {"first": first, "last": last, "mean_job_s": mean_run}


class CpuMeter:
    """CPU seconds per document of a worker (its supervisor and its children apart), counted
    from the poll where a tenth of the jobs are done to the poll where all are, so start-up
    (imports, fonts, the first renders) is left out."""

    def __init__(self, pid: int, n: int) -> None:
        """Measure the worker whose supervisor is ``pid``, running ``n`` jobs."""
        self.process = psutil.Process(pid)
        self.n = n
        self.marks: list[tuple[int, float, float]] = []

    def _times(self) -> tuple[float, float]:
        def cpu(proc: psutil.Process) -> float:
            times = proc.cpu_times()
            return float(times.user + times.system)

        children = 0.0
        for child in worker_children(self.process):
            with contextlib.suppress(psutil.Error):
                children += cpu(child)
        return cpu(self.process), children

    def poll(self, done: int) -> None:
        """Mark the start (first poll past a tenth of the jobs) and the end (all done)."""
        if (not self.marks and done >= max(1, self.n // 10)) or (self.marks and done >= self.n):
            with contextlib.suppress(psutil.Error):
                self.marks.append((done, *self._times()))

    def per_document(self) -> dict[str, float]:
        """Milliseconds of CPU per document: supervisor, children, both."""
        if len(self.marks) < 2 or self.marks[-1][0] <= self.marks[0][0]:
            return {}
        (d0, s0, c0), (d1, s1, c1) = self.marks[0], self.marks[-1]
        docs = d1 - d0
        supervisor, children = (s1 - s0) * 1000 / docs, (c1 - c0) * 1000 / docs
        return {
            "cpu_ms_per_doc": supervisor + children,
            "cpu_ms_supervisor": supervisor,
            "cpu_ms_children": children,
        }


def wait_jobs(
    queue: Queue, n: int, worker: Proc, timeout: float, meter: CpuMeter | None = None
) -> dict[str, Any]:
    """Poll until ``n`` jobs are final (worker alive, bounded); return the outcome."""
    conn = sqlite3.connect(queue.db_path, timeout=30)
    try:
        deadline = time.monotonic() + timeout
        while True:
            done = queue.finished(conn)
            if meter is not None:
                meter.poll(done)
            if done >= n:
                break
            worker.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{done}/{n} jobs done after {timeout:.0f} s")
            time.sleep(0.1)
        return queue.outcome(conn, n)
    finally:
        conn.close()


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
# Memory over long runs


class MemoryRun:
    """A worker with one child rendering many documents while its RSS is sampled."""

    def __init__(self, key: str, label: str, n: int) -> None:
        """Describe the run; :meth:`start` fills the queue and starts the worker."""
        self.key, self.label, self.n = key, label, n
        self.queue = Queue(WORK / f"memory-{key}")
        self.peak: dict[int, float] = {}
        self.timeline: list[tuple[float, float]] = []
        self.done = 0
        self.result: dict[str, Any] | None = None

    def start(self, template: Path, datas: list[dict[str, Any]]) -> None:
        """Fill the queue, start ``pressroom worker -c 1``."""
        self.queue.fill(self.key, template, "pdf", datas)
        self.worker = self.queue.start_worker(1, f"documents-memory-{self.key}.log")
        self.process = psutil.Process(self.worker.pid)
        self.t0 = time.monotonic()
        self.conn = sqlite3.connect(self.queue.db_path, timeout=30, check_same_thread=False)

    def sample(self) -> None:
        """Record each child's RSS."""
        for child in worker_children(self.process):
            with contextlib.suppress(psutil.Error):
                rss = child.memory_info().rss / 2**20
                self.peak[child.pid] = max(self.peak.get(child.pid, 0.0), rss)
                if not self.timeline or time.monotonic() - self.t0 - self.timeline[-1][0] >= 5:
                    self.timeline.append((round(time.monotonic() - self.t0, 1), round(rss, 1)))

    def poll(self) -> bool:
        """Whether every job is final; raises if the worker died."""
        self.worker.check_alive()
        self.done = self.queue.finished(self.conn)
        return self.done >= self.n

    def finish(self, partial: bool = False) -> dict[str, Any]:
        """Stop the worker, check the jobs, summarise (``partial``: stopped at the deadline,
        with ``done`` of the documents rendered)."""
        elapsed = time.monotonic() - self.t0
        self.worker.stop()
        if partial:
            row = self.conn.execute(
                "SELECT avg(finished_at - started_at) FROM jobs WHERE status = 'succeeded'"
            ).fetchone()
            got = {"mean_job_s": row[0] or 0.0}
        else:
            got = self.queue.outcome(self.conn, self.n)
        self.conn.close()
        self.result = {
            "label": self.label,
            "documents": self.done if partial else self.n,
            "planned": self.n,
            "partial": partial,
            "max_rss_mb": max(self.peak.values(), default=0.0),
            "children": len(self.peak),
            "child_peaks_mb": sorted(round(v, 1) for v in self.peak.values()),
            "elapsed_s": elapsed,
            "mean_job_s": got["mean_job_s"],
            "timeline": self.timeline,
        }
        return self.result


class MemoryPhase:
    """1,000 html invoices and 200 typst reports, two single-child workers side by side,
    sampled from a thread so that the other phases can run meanwhile (``--memory-alongside``)."""

    def __init__(self, args: argparse.Namespace, seeds: Seeds) -> None:
        """Fill both queues and start both workers."""
        self.args = args
        self.runs = [
            MemoryRun("html-invoices", "html invoices", args.memory_invoices),
            MemoryRun("typst-reports", "20-page typst reports", args.memory_reports),
        ]
        inputs = [
            (
                ROOT / "examples/invoice",
                [docdata.invoice(s) for s in seeds.take(args.memory_invoices)],
            ),
            (
                BENCH / "templates/report-typst",
                [docdata.report(s) for s in seeds.take(args.memory_reports)],
            ),
        ]
        self.load = Load.begin()
        for run, (template, datas) in zip(self.runs, inputs, strict=True):
            run.start(template, datas)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._sample, name="memory-sampler", daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        pending = list(self.runs)
        deadline = time.monotonic() + self.args.memory_timeout
        last_poll = last_print = 0.0
        try:
            while pending:
                for run in pending:
                    run.sample()
                now = time.monotonic()
                if now - last_poll >= 2:
                    last_poll = now
                    for run in list(pending):
                        if run.poll():
                            pending.remove(run)
                            run.finish()
                    if now > deadline:  # keep what was measured, say it is partial
                        for run in pending:
                            run.poll()
                            run.finish(partial=True)
                        pending.clear()
                        break
                if now - last_print >= 60:
                    last_print = now
                    print("[memory] " + self.describe(), flush=True)
                time.sleep(0.25)
        except BaseException as exc:  # reported by wait()
            self.error = exc
            for run in pending:
                run.worker.stop(grace=5)

    def describe(self) -> str:
        """Progress of both runs."""
        return "; ".join(
            f"{r.key} {r.done}/{r.n}, peak {max(r.peak.values(), default=0):.0f} MB"
            for r in self.runs
        )

    def wait(self, doc: dict[str, Any]) -> None:
        """Wait for both runs and record them."""
        self.thread.join()
        if self.error is not None:
            raise RuntimeError(f"memory phase failed: {self.error!r}")
        usage = self.load.end()
        doc["memory"] = {r.key: {**(r.result or {}), **usage} for r in self.runs}
        for r in self.runs:
            res = r.result or {}
            print(
                f"[memory] {r.key}: {res.get('documents')} documents, child peak "
                f"{res.get('max_rss_mb', 0):.0f} MB over {res.get('children')} child process(es)",
                flush=True,
            )


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
