"""The supervisor's child processes: spawning, killing, replacing, reaping and recycling them,
and reading their messages (results, progress, readiness).

:class:`ChildrenMixin` holds these methods; :class:`~pressroom.worker.supervisor.Supervisor`
inherits it, and owns the state they use.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

import psutil

from pressroom._fds import readable
from pressroom.core import retry
from pressroom.core.models import Job, JobError, Outcome, utcnow
from pressroom.worker import child as proto
from pressroom.worker.config import WorkerConfig
from pressroom.worker.pacing import JobPace

log = logging.getLogger("pressroom.worker")
_ctx = multiprocessing.get_context("spawn")


@dataclass
class _Running:
    job: Job
    cancel_wanted: bool = False
    cancel_deadline: float | None = None


@dataclass
class _Child:
    proc: BaseProcess
    conn: Connection
    cancel: Any
    state: Any
    ready: bool = False
    retiring: bool = False
    assigned: deque[_Running] = field(default_factory=deque)
    jobs_done: int = 0
    rss_checked: float = field(default_factory=time.monotonic)

    def current(self) -> tuple[int, float] | None:
        """(index in ``assigned``, start time) of the job the child runs now, if any."""
        index = int(self.state[0]) - self.jobs_done
        if 0 <= index < len(self.assigned):
            return index, float(self.state[1])
        return None


class ChildrenMixin:
    """The supervisor's bookkeeping of its child processes and the jobs sent to each."""

    # Set by Supervisor (in __init__, or as it runs); declared here for the type checker.
    config: WorkerConfig
    completed: int
    _children: list[_Child]
    _buffer: deque[Job]
    _draining: bool
    _fatal: str | None
    _pace: JobPace

    if TYPE_CHECKING:

        def _add_outcome(self, outcome: Outcome) -> None: ...

        def _note_progress(self, records: list[tuple[str, int, float, str | None]]) -> None: ...

    def _spawn(self) -> None:
        parent, child_end = _ctx.Pipe()
        flag = _ctx.RawArray("c", 32)
        state = _ctx.RawArray("d", 2)
        state[0] = -1
        proc = _ctx.Process(
            target=proto.child_main,
            args=(child_end, flag, state, self.config.task_modules, os.getpid()),
            name="pressroom-child",
            daemon=True,
        )
        proc.start()
        child_end.close()
        self._children.append(_Child(proc=proc, conn=parent, cancel=flag, state=state))

    def _kill(self, child: _Child) -> None:
        if child.proc.is_alive():
            child.proc.kill()
        child.proc.join(5)
        child.conn.close()

    def _end_current(self, child: _Child, outcome: Outcome | None) -> None:
        """After killing a child: record its current job's outcome (None: nothing) and give
        every other job sent to it back to the buffer; jobs it finished without reporting run
        again (at least once)."""
        cur = child.current()
        if cur is not None:
            del child.assigned[cur[0]]
            if outcome is not None:
                self._add_outcome(outcome)
        while child.assigned:
            self._buffer.appendleft(child.assigned.pop().job)

    def _replace(self, child: _Child) -> None:
        while child.assigned:
            self._buffer.appendleft(child.assigned.pop().job)
        self._kill(child)
        self._children.remove(child)
        if not self._draining:
            self._spawn()

    def _read(self, child: _Child) -> None:
        while True:
            try:
                if not readable([child.conn.fileno()]):
                    return
                msg = child.conn.recv()
            except (EOFError, OSError):
                return
            kind = msg[0]
            if kind == proto.READY:
                child.ready = True
            elif kind == proto.PROGRESS:
                self._note_progress(msg[1])
            elif kind == proto.DONE:
                self._note_progress(msg[2])
                for reply in msg[1]:
                    self._on_done(child, reply)
                self._maybe_recycle(child)
            elif kind == "fatal":
                self._fatal = f"worker child could not start: {msg[1]}"

    def _on_done(self, child: _Child, msg: tuple[Any, ...]) -> None:
        _, job_id, attempt, status, result, error, elapsed_ms = msg
        if not child.assigned or child.assigned[0].job.id != job_id:
            return
        job = child.assigned.popleft().job
        child.jobs_done += 1
        self.completed += 1
        self._pace.observe(elapsed_ms)
        if status == "ok":
            self._add_outcome(retry.success(job_id, attempt, result))
        elif status == "cancelled":
            self._add_outcome(retry.cancelled(job_id, attempt))
        else:
            err = JobError(
                error["type"], error["message"], error["traceback"], retryable=error["retryable"]
            )
            self._add_outcome(retry.failure(job_id, attempt, job.max_attempts, err, utcnow()))

    def _maybe_recycle(self, child: _Child) -> None:
        """Retire a child past its job count or memory ceiling: it gets no more jobs, and is
        replaced once it has finished those it holds."""
        if child.retiring:
            if not child.assigned:
                self._replace(child)
            return
        cfg = self.config
        if cfg.max_jobs_per_child and child.jobs_done >= cfg.max_jobs_per_child:
            child.retiring = True
        now = time.monotonic()
        if cfg.max_memory_mb and now - child.rss_checked > 1.0:
            child.rss_checked = now
            try:
                rss_mb = psutil.Process(child.proc.pid).memory_info().rss / 2**20
            except psutil.Error:
                rss_mb = 0.0
            if rss_mb > cfg.max_memory_mb:
                log.info(
                    "recycling child %s: %.0f MB over %.0f MB",
                    child.proc.pid,
                    rss_mb,
                    cfg.max_memory_mb,
                )
                child.retiring = True
        if child.retiring and not child.assigned:
            self._replace(child)

    def _reap(self, ready: set[int]) -> None:
        for child in list(self._children):
            if child.proc.sentinel not in ready or child.proc.is_alive():
                continue
            self._read(child)
            cur = child.current()
            if cur is not None:
                job = child.assigned[cur[0]].job
                code = child.proc.exitcode
                how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
                err = JobError("WorkerDied", f"the worker process running this job died ({how})")
                log.warning("child %s died (%s) while running job %s", child.proc.pid, how, job.id)
                self._end_current(
                    child, retry.failure(job.id, job.attempt, job.max_attempts, err, utcnow())
                )
            self._replace(child)
