"""Procrastinate 3.10 on PostgreSQL (psycopg 3); one ``procrastinate worker`` per worker."""

from __future__ import annotations

import contextlib
from typing import ClassVar

from procrastinate import App, PsycopgConnector
from procrastinate.types import JSONDict

from common import System, pg_drop, pg_dsn, pg_recreate, record_job, venv_script

DB_NAME = "bench_procrastinate"

app = App(connector=PsycopgConnector(conninfo=pg_dsn(DB_NAME)))


@app.task(name="noop")
async def noop(sample: int) -> None:
    """The benchmark job: record completion, nothing else."""
    record_job(sample)


class ProcrastinateSystem(System):
    """Procrastinate: LISTEN/NOTIFY wake-up, 2 worker processes of concurrency 1."""

    name = "procrastinate"
    label = "Procrastinate (PG, LISTEN/NOTIFY), 2 processes"
    distributions: ClassVar[tuple[str, ...]] = ("procrastinate", "psycopg")
    drain_jobs = 3_000
    enqueue_calls = 2_000
    supports_bulk = True
    notes = "procrastinate worker --concurrency 1 (default), async task, jobs kept (default)"

    def setup(self) -> None:
        """Recreate the database, apply the schema, open the sync client pool."""
        self.ctx.recorder.flush()
        pg_recreate(DB_NAME)
        app.open()
        app.schema_manager.apply_schema()

    def enqueue_one(self, sample: int = -1) -> None:
        """``defer()``: one procrastinate_defer_jobs call in its own transaction."""
        noop.defer(sample=sample)

    def enqueue_bulk(self, n: int) -> None:
        """``batch_defer()``: ``n`` jobs in one call."""
        args: list[JSONDict] = [{"sample": -1} for _ in range(n)]
        noop.batch_defer(*args)

    def start_workers(self, n: int) -> None:
        """``n`` separate ``procrastinate worker`` processes."""
        for i in range(n):
            self.workers.spawn(
                [
                    venv_script("procrastinate"),
                    "--app",
                    "systems.procr_app.app",
                    "--log-level",
                    "warning",
                    "worker",
                    "--name",
                    f"bench{i}",
                    "--concurrency",
                    "1",
                ],
            )

    def teardown(self) -> None:
        """Close the client pool and drop the database."""
        with contextlib.suppress(Exception):
            app.close()
        pg_drop(DB_NAME)
        super().teardown()
