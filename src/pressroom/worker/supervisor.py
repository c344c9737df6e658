"""The supervisor: one process per node that claims jobs, feeds child processes, and keeps leases.

It is the only part of a node that talks to the database. Its loop waits on the children's pipes,
their process sentinels, the store's wake-up hints and its own signal pipe, then: reads results,
replaces dead children, writes outcomes in batches (fenced by attempt), extends leases, enforces
timeouts and cancellations by killing the child, runs maintenance, and claims more work.

Signals: SIGTERM or SIGINT drain (stop claiming, give back waiting jobs, let running jobs finish
within the grace period, then give back the rest); a second SIGINT stops at once.

The loop and its decisions live here; the child-process bookkeeping is in ``children.py`` and
the database writes and heartbeats in ``writes.py``, as mixins that :class:`Supervisor` inherits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import FrameType

from pressroom._fds import readable
from pressroom.core import retry
from pressroom.core.errors import SchemaOutOfDate
from pressroom.core.ids import new_id
from pressroom.core.models import (
    ClaimParams,
    Job,
    JobError,
    Outcome,
    ProgressUpdate,
    utcnow,
)
from pressroom.core.ports import Store
from pressroom.core.tasks import load_task_modules, registry
from pressroom.store import open_store
from pressroom.worker import child as proto
from pressroom.worker.children import ChildrenMixin, _Child, _Running
from pressroom.worker.config import WorkerConfig
from pressroom.worker.maintenance import Maintenance
from pressroom.worker.pacing import JobPace
from pressroom.worker.writes import WritesMixin, _Write

log = logging.getLogger("pressroom.worker")
FLUSH_BATCH = 64
PROGRESS_EVERY_S = 0.1


class Supervisor(ChildrenMixin, WritesMixin):
    """Runs one worker node until it is told to stop."""

    def __init__(self, config: WorkerConfig, *, store: Store | None = None) -> None:
        """Prepare (but do not start) a node; ``store`` overrides ``config.database_url``."""
        self.config = config
        self.id = new_id()
        self._store = store
        self._children: list[_Child] = []
        self._buffer: deque[Job] = deque()
        self._outcomes: list[Outcome] = []
        self._outcomes_since = 0.0
        self._progress_flushed = 0.0
        self._progress: dict[str, ProgressUpdate] = {}
        self._draining = False
        self._drain_deadline = 0.0
        self._stop_now = False
        self._claim_again = True
        self._hinted_while_claiming = False
        self._next_poll = 0.0
        self._next_heartbeat = 0.0
        self._next_cancel_poll = 0.0
        self._next_upkeep = 0.0
        self._db_retry_at = 0.0
        self._db_backoff = 0.1
        self._pace = JobPace()
        self._fatal: str | None = None
        self.completed = 0
        self._claim_io = ThreadPoolExecutor(1, thread_name_prefix="pressroom-claim")
        self._write_io = ThreadPoolExecutor(1, thread_name_prefix="pressroom-write")
        self._beat_io = ThreadPoolExecutor(1, thread_name_prefix="pressroom-beat")
        self._upkeep_io = ThreadPoolExecutor(1, thread_name_prefix="pressroom-upkeep")
        self._claiming: tuple[Future[list[Job]], int] | None = None
        self._writing: _Write | None = None
        self._beating: Future[Callable[[], None]] | None = None
        self._upkeep: Future[float] | None = None
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        os.set_blocking(self._wake_r, False)

    # --- lifecycle ------------------------------------------------------------------------------
    def request_stop(self, *, now: bool = False) -> None:
        """Begin draining (or stop at once); safe to call from a signal handler or twice."""
        if now or self._draining:
            self._stop_now = now or self._stop_now
        if not self._draining:
            self._draining = True
            self._drain_deadline = time.monotonic() + self.config.grace_s
        self._wake()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        first = not self._draining
        log.warning(
            "received %s: %s", signal.Signals(signum).name, "draining" if first else "stopping now"
        )
        self.request_stop(now=not first and signum == signal.SIGINT)

    def run(self) -> int:
        """Run until stopped; return the process exit code."""
        load_task_modules(self.config.task_modules)
        store = self._store or open_store(self.config.database_url)
        current, latest = store.schema_version()
        if current != latest:
            raise SchemaOutOfDate(
                f"database schema is at version {current}, this Pressroom needs {latest}: "
                "run `pressroom migrate`"
            )
        self.store = store
        self.listener = store.listener()
        self.maintenance = Maintenance(
            store,
            self.id,
            registry,
            retention_s=self.config.retention_s,
            rescue_every_s=self.config.rescue_every_s,
            promote_every_s=self.config.promote_every_s,
        )
        self._started_at = utcnow()
        self.store.worker_upsert(self._worker_info())
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        for _ in range(self.config.concurrency):
            self._spawn()
        log.info(
            "worker %s started: %d children, queues %s, store %s",
            self.id,
            self.config.concurrency,
            ",".join(self.config.queues),
            store.url,
        )
        try:
            while not self._finished():
                self._turn()
        finally:
            self._shutdown()
        if self._fatal:
            log.error("%s", self._fatal)
            return 2
        return 0

    def _finished(self) -> bool:
        if self._fatal:
            return True
        if not self._draining or self._busy_io():
            return False
        busy = any(c.assigned for c in self._children)
        return self._stop_now or not busy or time.monotonic() >= self._drain_deadline

    def _shutdown(self) -> None:
        for io in (self._claim_io, self._write_io, self._beat_io, self._upkeep_io):
            io.shutdown(wait=True)
        self._collect()
        for child in self._children:
            while child.assigned:
                job = child.assigned.popleft().job
                self._add_outcome(retry.released(job.id, job.attempt))
            self._kill(child)
        self._children.clear()
        self._release_buffer()
        deadline = time.monotonic() + 10
        while (self._outcomes or self._progress) and time.monotonic() < deadline:
            if not self._flush():
                time.sleep(0.2)
        try:
            self.store.worker_delete(self.id)
        except Exception:
            log.warning("could not remove worker row", exc_info=True)
        self.listener.close()
        if self._store is None:
            self.store.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
        log.info("worker %s stopped after %d job(s)", self.id, self.completed)

    # --- the loop -------------------------------------------------------------------------------
    def _turn(self) -> None:
        fds = [self._wake_r]
        for child in self._children:
            fds.append(child.conn.fileno())
            fds.append(child.proc.sentinel)
        # The hint socket is waited on only while a hint could start a claim: at capacity its
        # pending notifications would otherwise wake every turn at once.
        listening = self._capacity() > 0 and not self._draining
        hint_fd = self.listener.fileno()
        fd = hint_fd if listening else None
        if fd is not None:
            fds.append(fd)
        ready = readable(fds, self._wait_timeout())
        if self._wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(self._wake_r, 512)
        # The idle path first: a finished claim's jobs go to the children, and a hint starts a
        # claim, before the children's pipes, timers and deadlines are seen to.
        self._collect()
        self._dispatch()
        now = time.monotonic()
        if hint_fd is not None:
            woke = fd is not None and fd in ready and self._hint()
        else:
            # A polled listener (SQLite's data_version) costs a query per look; after a full
            # claim the supervisor claims again as soon as it has room, so it needs no hint
            # that work arrived until a claim comes back short.
            woke = listening and not self._claim_again and self._hint()
        if woke and self._claiming is not None:
            # The claim in flight may have started before this work was committed: the hint
            # is kept, and the node claims again when that claim ends.
            self._hinted_while_claiming = True
        elif woke and self._should_claim(True, now):
            self._claim(now)
        for child in list(self._children):
            if child.conn.fileno() in ready:
                self._read(child)
        self._reap(ready)
        self._dispatch()
        now = time.monotonic()
        if now >= self._db_retry_at:
            if self._flush_due(now):
                self._write_async()
            self._timers(now)
        self._enforce_deadlines(now)
        self._dispatch()
        if self._should_claim(woke, now):
            self._claim(now)

    def _hint(self) -> bool:
        """Whether the store hinted at new work (or its listener is down, which counts as one)."""
        try:
            return self.listener.poll()
        except Exception:  # noqa: BLE001 - a broken listener only costs latency
            return True

    def _in_flight(self) -> bool:
        return bool(self._buffer) or any(c.assigned for c in self._children)

    def _busy_io(self) -> bool:
        """A claim or write in flight (heartbeats and maintenance are awaited at shutdown: they
        recur while running jobs drain, so waiting for a gap between them could wait forever)."""
        return self._claiming is not None or self._writing is not None

    def _flush_due(self, now: float) -> bool:
        """Outcomes are written in batches: when many wait, when the oldest has waited
        :meth:`JobPace.flush_delay_s`, or at once when nothing else is in flight."""
        if self._outcomes:
            return (
                len(self._outcomes) >= FLUSH_BATCH
                or now - self._outcomes_since >= self._pace.flush_delay_s()
                or not self._in_flight()
                or self._draining
            )
        return bool(self._progress) and now - self._progress_flushed >= PROGRESS_EVERY_S

    def _wait_timeout(self) -> float:
        now = time.monotonic()
        timeout = 0.25
        if self._beating is None:
            timeout = max(0.0, max(self._next_heartbeat, self._db_retry_at) - now)
        if self._outcomes and self._writing is None and now >= self._db_retry_at:
            timeout = min(
                timeout, max(0.0, self._outcomes_since + self._pace.flush_delay_s() - now)
            )
        if self._capacity() > 0 and not self._draining and self._claiming is None:
            # A claim in flight wakes the loop when it ends; until then the next poll is not
            # due (counting it would spin the loop while a slow claim waits for the database).
            if self._claim_again and self._should_claim(False, now):
                return 0.0
            timeout = min(timeout, max(0.0, max(self._next_poll, self._db_retry_at) - now))
            if self.listener.fileno() is None and not self._claim_again:
                timeout = min(timeout, self.listener.poll_interval_s)
            if self._claim_again and self._db_retry_at > now:
                timeout = min(timeout, self._db_retry_at - now)
        if any(c.assigned for c in self._children):
            timeout = min(timeout, self.config.cancel_poll_s, self._next_deadline_in())
        if self._draining:
            timeout = min(timeout, max(0.0, self._drain_deadline - time.monotonic()))
        return min(timeout, 0.25)

    def _next_deadline_in(self) -> float:
        """Seconds until the nearest timeout or forced cancellation of a running job."""
        now = time.monotonic()
        soonest = 3600.0
        for child in self._children:
            cur = child.current()
            if cur is not None:
                run = child.assigned[cur[0]]
                if run.job.timeout_s is not None:
                    soonest = min(soonest, cur[1] + run.job.timeout_s - now)
                if run.cancel_deadline is not None:
                    soonest = min(soonest, run.cancel_deadline - now)
        return max(0.0, soonest)

    def _capacity(self) -> int:
        idle = sum(1 for c in self._children if c.ready and not c.assigned and not c.retiring)
        return idle + self._prefetch_target() - len(self._buffer)

    def _prefetch_target(self) -> int:
        if self.config.prefetch is not None:
            return self.config.prefetch
        return self._pace.prefetch_per_child() * self.config.concurrency

    def _should_claim(self, woke: bool, now: float) -> bool:
        if self._draining or self._fatal or now < self._db_retry_at or self._claiming:
            return False
        capacity = self._capacity()
        starving = not self._buffer and any(c.ready and not c.assigned for c in self._children)
        if capacity <= 0 or (not starving and capacity < self._prefetch_target() // 2):
            return False
        return woke or self._claim_again or now >= self._next_poll

    def _claim(self, now: float) -> None:
        """Claim jobs. While no job runs or waits here, on this loop, and hand them out at
        once: nothing else needs the loop then (a database outage holds it for as long as the
        store retries, with no job to look after), and the job a hint announced starts without
        two hand-offs between threads (about 0.2 ms of the idle latency on the benchmark
        machine). Otherwise in the claim thread, whose jobs :meth:`_collect` takes."""
        want = self._capacity()
        params = ClaimParams(self.id, self.config.queues, want, self.config.lease_s)
        self._next_poll = now + self.config.poll_s
        if not self._buffer and not any(c.assigned for c in self._children):
            try:
                jobs = self.store.job_claim(params)
            except Exception as exc:  # noqa: BLE001 - a database outage pauses claiming
                self._db_failed("claim", exc)
            else:
                self._claimed(jobs, want)
                self._dispatch()
            return
        self._claiming = (self._claim_io.submit(self.store.job_claim, params), want)
        self._claiming[0].add_done_callback(self._wake)

    def _wake(self, _future: object = None) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def _collect(self) -> None:
        """Take the results of finished claim, write, heartbeat and maintenance calls."""
        if self._beating is not None and self._beating.done():
            beat, self._beating = self._beating, None
            try:
                apply = beat.result()
            except Exception as exc:  # noqa: BLE001 - retried when next due
                self._db_failed("heartbeat", exc)
            else:
                self._db_ok()
                apply()
        if self._upkeep is not None and self._upkeep.done():
            upkeep, self._upkeep = self._upkeep, None
            self._next_upkeep = time.monotonic()
            with contextlib.suppress(Exception):  # each duty logs and retries its own failures
                self._next_upkeep += upkeep.result()
        if self._claiming is not None and self._claiming[0].done():
            claimed, want = self._claiming
            self._claiming = None
            try:
                jobs = claimed.result()
            except Exception as exc:  # noqa: BLE001 - a database outage pauses claiming
                self._db_failed("claim", exc)
            else:
                self._claimed(jobs, want)
        if self._writing is not None and self._writing.future.done():
            written, batch, progress = self._writing
            self._writing = None
            try:
                applied = written.result()
            except Exception as exc:  # noqa: BLE001 - outcomes stay in memory until the store is back
                self._outcomes[:0] = batch
                self._restore_progress(progress)
                self._db_failed("write outcomes", exc)
            else:
                self._db_ok()
                stale = applied.count(False)
                if stale:
                    log.info("%d outcome(s) were stale (the job was rescued meanwhile)", stale)

    def _claimed(self, jobs: list[Job], want: int) -> None:
        """Take the jobs a claim for ``want`` returned."""
        self._db_ok()
        self._forget_reclaimed(jobs)
        if self._draining:
            self._outcomes_release(jobs)
        else:
            self._buffer.extend(jobs)
        self._claim_again = len(jobs) >= want or self._hinted_while_claiming
        self._hinted_while_claiming = False

    def _forget_reclaimed(self, jobs: list[Job]) -> None:
        """Drop this node's runs of jobs that a claim just returned to it again: the store no
        longer leases those runs to it (a database crash forgot the claim's asynchronous
        commit, or the job was rescued meanwhile), so they are stale. Their pending outcomes
        and progress go too; an outcome already being written is fenced like any other."""
        ids = {job.id for job in jobs}
        stale = {key for key in self._held() if key[0] in ids}
        if not stale:
            return
        log.warning(
            "%d claimed job(s) were still running here; stopping the stale runs", len(stale)
        )
        self._outcomes = [o for o in self._outcomes if o.job_id not in ids]
        for job_id in ids:
            self._progress.pop(job_id, None)
        self._drop_lost(stale)

    def _outcomes_release(self, jobs: list[Job]) -> None:
        for job in jobs:
            self._add_outcome(retry.released(job.id, job.attempt))

    def _depth(self) -> int:
        """Jobs sent one at a time a child may hold: its current one, plus the next one while
        jobs are short (and the node prefetches at least one per child anyway)."""
        short = self._pace.sends_ahead()
        return 2 if short and self._prefetch_target() >= self.config.concurrency else 1

    def _dispatch(self) -> None:
        chunk = self._pace.chunk()
        depth = self._depth()
        for child in self._children:
            if not self._buffer:
                return
            if not child.ready or child.retiring:
                continue
            # Slow jobs: one at a time, so no job waits behind another in a child. Short jobs:
            # the next one waits in the child's pipe, so the child starts it the moment it is
            # done with the last, without waiting for this loop. Fast jobs: top up to two
            # chunks, so the child always has the next one at hand.
            if (chunk == 1 and len(child.assigned) >= depth) or len(child.assigned) > chunk:
                continue
            room = 1 if chunk == 1 else 2 * chunk - len(child.assigned)
            if self.config.max_jobs_per_child:  # never more than a child has left to run
                left = self.config.max_jobs_per_child - child.jobs_done - len(child.assigned)
                room = min(room, left)
                if room <= 0:
                    continue
            runs = [_Running(self._buffer.popleft()) for _ in range(min(room, len(self._buffer)))]
            payload = [
                (r.job.id, r.job.attempt, r.job.max_attempts, r.job.queue, r.job.task, r.job.args)
                for r in runs
            ]
            try:
                child.conn.send((proto.RUN, payload))
            except OSError:
                self._buffer.extendleft(reversed([r.job for r in runs]))
                continue
            child.assigned.extend(runs)

    def _held(self) -> list[tuple[str, int]]:
        held = [(r.job.id, r.job.attempt) for c in self._children for r in c.assigned]
        held += [(j.id, j.attempt) for j in self._buffer]
        held += [(o.job_id, o.attempt) for o in self._outcomes]
        if self._writing is not None:
            held += [(o.job_id, o.attempt) for o in self._writing.outcomes]
        return held

    # --- heartbeats, cancellations and deadlines ------------------------------------------------
    def _timers(self, now: float) -> None:
        """Start a due heartbeat or cancellation poll, and due maintenance, each in its thread
        (one call of each kind at a time); :meth:`_collect` applies their replies here."""
        beat = now >= self._next_heartbeat
        poll = now >= self._next_cancel_poll
        if self._beating is None and (beat or poll):
            if beat:
                self._next_heartbeat = now + self.config.heartbeat_s
            if poll:
                self._next_cancel_poll = now + self.config.cancel_poll_s
            # Snapshots taken here: every job held now is in ``held``. A job claimed while the
            # call is in flight has a fresh lease from its claim; one finished meanwhile is
            # extended once more, which its finish has already made moot.
            held = self._held() if beat else None
            info = self._worker_info() if beat else None
            ids = [] if beat else self._cancel_ids()
            self._beating = self._beat_io.submit(self._beat, held, info, ids)
            self._beating.add_done_callback(self._wake)
        if (
            self.config.maintenance
            and not self._draining
            and self._upkeep is None
            and now >= self._next_upkeep
        ):
            self._upkeep = self._upkeep_io.submit(self.maintenance.run_due)
            self._upkeep.add_done_callback(self._wake)
        if self._draining:
            self._release_buffer()

    def _cancel_ids(self) -> list[str]:
        ids = [r.job.id for c in self._children for r in c.assigned]
        return ids + [j.id for j in self._buffer]

    def _start_cancel(self, job_ids: frozenset[str] | set[str]) -> None:
        for job in [j for j in self._buffer if j.id in job_ids]:
            self._buffer.remove(job)
            self._add_outcome(retry.cancelled(job.id, job.attempt, "cancelled before start"))
        for child in self._children:
            for run in child.assigned:
                if run.job.id in job_ids:
                    run.cancel_wanted = True

    def _drop_lost(self, lost: set[tuple[str, int]]) -> None:
        """Forget the (job, attempt) runs the store no longer leases to this node."""
        for child in list(self._children):
            cur = child.current()
            job = child.assigned[cur[0]].job if cur is not None else None
            if job is not None and (job.id, job.attempt) in lost:
                log.warning("job %s was rescued elsewhere; stopping its stale run", job.id)
                self._end_current(child, None)
                self._replace(child)
            else:
                child.assigned = deque(
                    r for r in child.assigned if (r.job.id, r.job.attempt) not in lost
                )
        self._buffer = deque(j for j in self._buffer if (j.id, j.attempt) not in lost)

    def _enforce_deadlines(self, now: float) -> None:
        for child in list(self._children):
            cur = child.current()
            if cur is None:
                continue
            run, started = child.assigned[cur[0]], cur[1]
            job = run.job
            if run.cancel_wanted and run.cancel_deadline is None:
                child.cancel.raw = job.id.encode()
                run.cancel_deadline = now + self.config.cancel_grace_s
            if run.cancel_deadline is not None and now >= run.cancel_deadline:
                self._end_current(child, retry.cancelled(job.id, job.attempt))
                log.info("job %s cancelled; stopped its process", job.id)
                self._replace(child)
            elif job.timeout_s is not None and now >= started + job.timeout_s:
                err = JobError(
                    "Timeout", f"the job ran longer than its timeout of {job.timeout_s}s"
                )
                self._end_current(
                    child, retry.failure(job.id, job.attempt, job.max_attempts, err, utcnow())
                )
                log.info("job %s timed out after %ss; stopped its process", job.id, job.timeout_s)
                self._replace(child)

    def _release_buffer(self) -> None:
        while self._buffer:
            job = self._buffer.pop()
            self._add_outcome(retry.released(job.id, job.attempt))
