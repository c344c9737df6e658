"""The supervisor's database writes: outcomes and progress buffered in memory and written in
batches (in the write thread, or at once at shutdown), the backoff after a failed database call,
and heartbeats (leases extended, the worker row refreshed, cancellations polled).

:class:`WritesMixin` holds these methods; :class:`~pressroom.worker.supervisor.Supervisor`
inherits it, and owns the state they use.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

from pressroom.core.models import Outcome, ProgressUpdate, WorkerInfo, utcnow
from pressroom.core.ports import Store
from pressroom.worker.children import _Child
from pressroom.worker.config import WorkerConfig

log = logging.getLogger("pressroom.worker")


class _Write(NamedTuple):
    """Outcomes and progress being written in the write thread."""

    future: Future[list[bool]]
    outcomes: list[Outcome]
    progress: list[ProgressUpdate]


class WritesMixin:
    """The supervisor's write buffer of outcomes and progress, its database backoff, and its
    heartbeats."""

    # Set by Supervisor (in __init__, or as it runs); declared here for the type checker.
    config: WorkerConfig
    id: str
    store: Store
    _children: list[_Child]
    _started_at: datetime
    _outcomes: list[Outcome]
    _outcomes_since: float
    _progress: dict[str, ProgressUpdate]
    _progress_flushed: float
    _db_retry_at: float
    _db_backoff: float
    _writing: _Write | None
    _write_io: ThreadPoolExecutor

    if TYPE_CHECKING:

        def _wake(self, _future: object = None) -> None: ...

        def _start_cancel(self, job_ids: frozenset[str] | set[str]) -> None: ...

        def _drop_lost(self, lost: set[tuple[str, int]]) -> None: ...

    def _flush(self) -> bool:
        """Write pending outcomes and progress; keep them for a retry if the database fails."""
        try:
            if self._progress or self._outcomes:
                batch = self._outcomes[:500]
                progress = self._take_progress()
                try:
                    applied = self.store.job_finish(batch, progress=progress, worker_id=self.id)
                except Exception:
                    self._restore_progress(progress)
                    raise
                del self._outcomes[: len(batch)]
                self._outcomes_since = time.monotonic()
                stale = applied.count(False)
                if stale:
                    log.info("%d outcome(s) were stale (the job was rescued meanwhile)", stale)
        except Exception:  # noqa: BLE001 - outcomes stay queued in memory until the store is back
            self._db_failed("write outcomes")
            return False
        self._db_ok()
        return True

    def _write_async(self) -> None:
        """Start writing progress and a batch of outcomes in the write thread."""
        if self._writing is not None:
            return
        progress = self._take_progress()
        batch = self._outcomes[:500]
        del self._outcomes[: len(batch)]
        self._outcomes_since = time.monotonic()
        write = partial(self.store.job_finish, batch, progress=progress, worker_id=self.id)
        self._writing = _Write(self._write_io.submit(write), batch, progress)
        self._writing.future.add_done_callback(self._wake)

    def _take_progress(self) -> list[ProgressUpdate]:
        """The latest progress of each job reported since the last write, to write now."""
        updates = list(self._progress.values())
        self._progress.clear()
        self._progress_flushed = time.monotonic()
        return updates

    def _restore_progress(self, updates: list[ProgressUpdate]) -> None:
        """Keep progress a failed write did not record, unless newer progress came since."""
        for u in updates:
            self._progress.setdefault(u.job_id, u)

    def _note_progress(self, records: list[tuple[str, int, float, str | None]]) -> None:
        for job_id, attempt, percent, text in records:
            self._progress[job_id] = ProgressUpdate(job_id, attempt, percent, text)

    def _add_outcome(self, outcome: Outcome) -> None:
        if not self._outcomes:
            self._outcomes_since = time.monotonic()
        self._outcomes.append(outcome)

    def _db_failed(self, what: str, exc: BaseException | None = None) -> None:
        log.warning(
            "database unavailable (%s: %s); retrying in %.1fs",
            what,
            exc if exc is not None else sys.exc_info()[1],
            self._db_backoff,
            exc_info=log.isEnabledFor(logging.DEBUG),
        )
        self._db_retry_at = time.monotonic() + self._db_backoff
        self._db_backoff = min(self._db_backoff * 2, 5.0)

    def _db_ok(self) -> None:
        self._db_backoff = 0.1

    def _beat(
        self, held: list[tuple[str, int]] | None, info: WorkerInfo | None, ids: Sequence[str]
    ) -> Callable[[], None]:
        """In the heartbeat thread: extend the leases of ``held`` and refresh the worker row
        (a heartbeat, which also reports cancellations), or poll ``ids`` for cancellations.
        Returns what the main loop then does with the reply."""
        if held is None or info is None:
            wanted = self.store.job_cancel_requested(ids) if ids else set()
            return lambda: self._start_cancel(wanted) if wanted else None
        reply = self.store.job_heartbeat(self.id, held, self.config.lease_s)
        self.store.worker_upsert(info)
        lost = {(job_id, attempt) for job_id, attempt in held if job_id in reply.lost}

        def apply() -> None:
            if lost:
                self._drop_lost(lost)
            if reply.cancel_requested:
                self._start_cancel(reply.cancel_requested)

        return apply

    def _worker_info(self) -> WorkerInfo:
        running = tuple(r.job.id for c in self._children for r in c.assigned)
        return WorkerInfo(
            self.id,
            socket.gethostname(),
            os.getpid(),
            self.config.queues,
            self.config.concurrency,
            self._started_at,
            utcnow(),
            running,
        )
