"""pgqueuer 1.6 on PostgreSQL via asyncpg; one ``pgq run`` process per worker."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from typing import ClassVar

import asyncpg
import pgqueuer
from pgqueuer import PgQueuer
from pgqueuer.db import AsyncpgDriver
from pgqueuer.models import Job
from pgqueuer.queries import Queries

from common import System, pg_drop, pg_recreate, record_job

DB_NAME = "bench_pgqueuer"
BATCH_SIZE = 10  # pgq run's default


async def noop(job: Job) -> None:
    """The benchmark job: record completion, nothing else."""
    record_job(int(job.payload or b"-1"))


@contextlib.asynccontextmanager
async def create_pgqueuer() -> AsyncIterator[PgQueuer]:
    """Factory for ``pgq run``: one asyncpg connection, one entrypoint."""
    conn = await asyncpg.connect(os.environ["BENCH_PG_DSN"])
    pgq = PgQueuer.from_asyncpg_connection(conn)
    pgq.entrypoint("noop", accepts_context=False)(noop)
    try:
        yield pgq
    finally:
        await conn.close()


def worker_main() -> None:
    """One worker process: what ``pgq run --batch-size 10`` does, minus its CLI.

    pgqueuer 1.6.0's ``pgq run`` crashes at start-up with typer 0.29 (its --log-level
    option arrives as a str: "AttributeError: 'str' object has no attribute 'name'"), so
    the worker calls the documented ``pgqueuer.run`` API on the same event loop the CLI
    picks (uvloop when installed).
    """
    coro = pgqueuer.run(create_pgqueuer, batch_size=BATCH_SIZE)
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
    else:
        uvloop.run(coro)


class PgQueuerSystem(System):
    """pgqueuer: LISTEN/NOTIFY wake-up, batch dequeue of 10, 2 ``pgq run`` processes."""

    name = "pgqueuer"
    label = "pgqueuer (PG, asyncpg, batch 10, LISTEN/NOTIFY), 2 processes"
    distributions: ClassVar[tuple[str, ...]] = ("pgqueuer", "asyncpg")
    drain_jobs = 20_000
    enqueue_calls = 5_000
    supports_bulk = True
    notes = (
        "pgqueuer.run(factory, batch_size=10) on uvloop, as `pgq run` does (the CLI crashes "
        "with typer 0.29); one asyncpg connection per process"
    )

    def setup(self) -> None:
        """Recreate the database, install the schema, open the client connection."""
        self.ctx.recorder.flush()
        self.dsn = pg_recreate(DB_NAME)
        self.loop = asyncio.new_event_loop()
        self.conn = self.loop.run_until_complete(asyncpg.connect(self.dsn))
        self.queries = Queries(AsyncpgDriver(self.conn))
        self.loop.run_until_complete(self.queries.install())

    def enqueue_one(self, sample: int = -1) -> None:
        """One INSERT (plus NOTIFY) per call."""
        self.loop.run_until_complete(self.queries.enqueue("noop", str(sample).encode()))

    def enqueue_bulk(self, n: int) -> None:
        """One multi-row INSERT for ``n`` jobs."""
        self.loop.run_until_complete(self.queries.enqueue(["noop"] * n, [b"-1"] * n, [0] * n))

    def start_workers(self, n: int) -> None:
        """``n`` separate ``pgq run`` processes."""
        for _ in range(n):
            self.workers.spawn(
                [sys.executable, "-m", "systems.pgq_app"],
                env={"BENCH_PG_DSN": self.dsn},
            )

    def teardown(self) -> None:
        """Close the client and drop the database."""
        loop = getattr(self, "loop", None)
        if loop is not None:
            with contextlib.suppress(Exception):
                loop.run_until_complete(self.conn.close())
            loop.close()
        pg_drop(DB_NAME)
        super().teardown()


if __name__ == "__main__":
    worker_main()
