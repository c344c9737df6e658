"""Group commit for ``POST /v1/jobs``: submissions that arrive while a write is in flight are
inserted together in the next transaction (one commit for many jobs).

At low load every job is written alone at once (no added latency); under load the batch grows
with the time one write takes, so throughput rises instead of requests queueing on the database
lock. A failed write fails every submission of its batch (jobs are validated before they get
here, so only a database failure can do that).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor

from pressroom.core.models import Job, NewJob
from pressroom.service import Pressroom

MAX_BATCH = 500


class SubmitBatcher:
    """Collects built jobs and inserts them with :meth:`Pressroom.insert_built`."""

    def __init__(self, service: Pressroom, executor: Executor) -> None:
        """Write through ``service`` on ``executor``'s threads."""
        self.service = service
        self.executor = executor
        self._pending: list[tuple[NewJob, asyncio.Future[Job]]] = []
        self._draining = False
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        """Transactions written so far."""

    async def submit(self, job: NewJob) -> Job:
        """Insert ``job`` (with whatever else is waiting); the job as stored."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Job] = loop.create_future()
        self._pending.append((job, future))
        if not self._draining:
            self._draining = True
            self._task = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                jobs = [job for job, _ in batch]
                try:
                    stored = await loop.run_in_executor(
                        self.executor, self.service.insert_built, jobs
                    )
                except Exception as exc:  # noqa: BLE001 - handed to every waiting request
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                self.batches += 1
                for (_, future), job in zip(batch, stored, strict=True):
                    if not future.done():
                        future.set_result(job)
        finally:
            self._draining = False
