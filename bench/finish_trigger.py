"""What the webhook outbox trigger costs the job finish path (jobs WITHOUT webhooks).

The trigger's WHEN clause tests the job's ``webhooks`` flag, so unflagged jobs should pay
nothing measurable; a first version without the flag (two index probes per finished row in a
PL/pgSQL function) cost PostgreSQL ~10 % of its finish throughput.

Inserts N jobs, claims them and finishes them in batches (as the worker does), timing only the
finishes, on SQLite and PostgreSQL, with the ``jobs_webhook_outbox`` trigger in place and then
dropped. Run: ``.venv/bin/python bench/finish_trigger.py [N]`` (PostgreSQL on 127.0.0.1:5432).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time

import psycopg

from pressroom.core.models import ClaimParams, NewJob
from pressroom.core.retry import success
from pressroom.store import open_store

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
PG_DB = "bench_finish_trigger"
BATCH = 100


def finish_rate(url: str, n: int) -> float:
    """Finished jobs per second for ``n`` jobs claimed and finished ``BATCH`` at a time."""
    store = open_store(url)
    store.job_insert_many([NewJob(task="t") for _ in range(n)])
    spent = 0.0
    while True:
        jobs = store.job_claim(ClaimParams("w", ("default",), BATCH, 60))
        if not jobs:
            break
        started = time.perf_counter()
        store.job_finish([success(j.id, j.attempt, None) for j in jobs])
        spent += time.perf_counter() - started
    store.close()
    return n / spent


def sqlite_case(n: int, drop: bool) -> float:
    """One SQLite run in a fresh file."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        store = open_store(url)
        store.migrate()
        if drop:
            import sqlite3

            with sqlite3.connect(f"{tmp}/bench.db") as conn:
                conn.execute("DROP TRIGGER jobs_webhook_outbox")
        store.close()
        return finish_rate(url, n)


def pg_case(n: int, drop: bool) -> float:
    """One PostgreSQL run in a fresh database."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {PG_DB}")
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_DB
    store = open_store(url)
    store.migrate()
    store.close()
    if drop:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP TRIGGER pressroom_jobs_webhook_outbox ON pressroom_jobs")
    try:
        return finish_rate(url, n)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")


def main() -> None:
    """Print finishes per second (median of 5 interleaved runs) with and without the trigger."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    for name, case in (("sqlite", sqlite_case), ("postgres", pg_case)):
        rates: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(5):
            for drop in (False, True):
                rates[drop].append(case(n, drop))
        for drop, got in rates.items():
            label = "without trigger" if drop else "with trigger   "
            print(f"{name:<8} {label} {statistics.median(got):>8,.0f} finishes/s")


if __name__ == "__main__":
    main()
