"""Memory phase of the documents benchmark (``bench/documents.py``): ``pressroom worker -c 1``
renders many html invoices, and another many 20-page typst reports, side by side, while a thread
samples the children's RSS with psutil (``MemoryRun`` per worker, ``MemoryPhase`` for both).
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import psutil

import docdata
from docdata import Seeds
from docmeasure import BENCH, ROOT, WORK, Load, Queue, worker_children


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
