"""Huey 3.5 with SqliteHuey (WAL journal, the storage default) and a process consumer."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from huey import SqliteHuey

from common import OUT_DIR, System, record_job, venv_script

DB_PATH = Path(os.environ.get("BENCH_HUEY_DB", str(OUT_DIR / "huey-bench.db")))

DB_PATH.parent.mkdir(parents=True, exist_ok=True)
huey = SqliteHuey("bench", filename=str(DB_PATH), journal_mode="wal")


@huey.task()
def noop(sample: int) -> None:
    """The benchmark job: record completion, nothing else."""
    record_job(sample)


class HueySqlite(System):
    """Huey + SQLite (WAL); ``huey_consumer -k process -w N`` with default polling."""

    name = "huey-sqlite"
    label = "Huey + SQLite WAL, 2 processes"
    distributions: ClassVar[tuple[str, ...]] = ("huey",)
    drain_jobs = 15_000
    enqueue_calls = 5_000
    notes = "huey_consumer -k process -w 2 -q; polling delay 0.1 s, backoff 1.15, max 10 s"

    def _remove_files(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{DB_PATH}{suffix}").unlink(missing_ok=True)

    def setup(self) -> None:
        """Start from an empty SQLite file and a flushed recorder."""
        self.ctx.recorder.flush()
        huey.storage.close()
        self._remove_files()
        huey.storage.initialize_schema()

    def enqueue_one(self, sample: int = -1) -> None:
        """Enqueue one task (one INSERT, autocommitted)."""
        noop(sample)

    def start_workers(self, n: int) -> None:
        """One consumer with ``n`` worker processes."""
        self.workers.spawn(
            [
                venv_script("huey_consumer"),
                "systems.huey_app.huey",
                "-k",
                "process",
                "-w",
                str(n),
                "-q",
            ],
            env={"BENCH_HUEY_DB": str(DB_PATH)},
        )

    def teardown(self) -> None:
        """Close the SQLite connection and delete the database files."""
        huey.storage.close()
        self._remove_files()
        super().teardown()
