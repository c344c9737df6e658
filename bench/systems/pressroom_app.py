"""Pressroom on SQLite (the embedded default) and on PostgreSQL, 2 worker child processes."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from common import OUT_DIR, System, pg_drop, pg_recreate, record_job, venv_script
from pressroom import JobContext, task
from pressroom.service import Pressroom
from pressroom.store import open_store


@task(name="bench.noop", max_attempts=1)
def noop(ctx: JobContext, sample: int = -1) -> None:
    """The benchmark job: record completion, nothing else."""
    record_job(sample)


class _PressroomBase(System):
    """Shared adapter: ``pressroom worker -c N`` (one supervisor, N child processes)."""

    distributions: ClassVar[tuple[str, ...]] = ("pressroom", "psycopg")
    supports_bulk = True
    drain_jobs = 40_000  # at 8,000-15,000 jobs/s, 20,000 drained in under 2 s
    enqueue_calls = 5_000
    url = ""

    def setup(self) -> None:
        """A fresh, migrated database and a flushed recorder."""
        self.ctx.recorder.flush()
        self._fresh()
        store = open_store(self.url)
        store.migrate()
        self.service = Pressroom(store)

    def _fresh(self) -> None:
        raise NotImplementedError

    def enqueue_one(self, sample: int = -1) -> None:
        """Submit one job through the service (validation, one transaction)."""
        self.service.submit("bench.noop", {"sample": sample})

    def enqueue_bulk(self, n: int) -> None:
        """Submit ``n`` jobs in one transaction."""
        self.service.submit_many(self.service.build_job("bench.noop") for _ in range(n))

    def start_workers(self, n: int) -> None:
        """One node with ``n`` child processes."""
        self.workers.spawn(
            [venv_script("pressroom"), "--tasks", "systems.pressroom_app", "worker", "-c", str(n)],
            env={"PRESSROOM_DATABASE_URL": self.url},
        )

    def teardown(self) -> None:
        """Close the store and remove the database."""
        self.service.close()
        self._fresh()
        super().teardown()


class PressroomSqlite(_PressroomBase):
    """Pressroom + SQLite (WAL, synchronous=NORMAL)."""

    name = "pressroom-sqlite"
    label = "Pressroom + SQLite WAL, 2 child processes"
    path = OUT_DIR / "pressroom-bench.db"
    url = f"sqlite:///{path}"
    notes = "pressroom worker -c 2 (supervisor + 2 children); data_version polling every 3 ms"

    def _fresh(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


class PressroomSqliteFull(PressroomSqlite):
    """Pressroom + SQLite with synchronous=FULL (an fsync per commit, as Huey's default)."""

    name = "pressroom-sqlite-full"
    label = "Pressroom + SQLite WAL synchronous=FULL, 2 child processes"
    path = OUT_DIR / "pressroom-bench-full.db"
    url = f"sqlite:///{path}?synchronous=FULL"
    notes = "as pressroom-sqlite, but every commit is fsynced (durable across power loss)"


class PressroomPostgres(_PressroomBase):
    """Pressroom + PostgreSQL (SKIP LOCKED, LISTEN/NOTIFY)."""

    name = "pressroom-postgres"
    label = "Pressroom + PostgreSQL, 2 child processes"
    database = "bench_pressroom"
    notes = "pressroom worker -c 2 (supervisor + 2 children); LISTEN/NOTIFY wake-ups"

    def _fresh(self) -> None:
        self.url = pg_recreate(self.database)

    def teardown(self) -> None:
        """Close the store and drop the database."""
        self.service.close()
        pg_drop(self.database)
        self.ctx.recorder.flush()
