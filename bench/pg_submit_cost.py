"""Where a PostgreSQL submit's time goes: Pressroom's one-statement insert against itself
without its notification, without its creation event, and with an asynchronous commit.

    .venv/bin/python bench/pg_submit_cost.py [--rounds 6] [--calls 800]

Runs each variant of the ``job_insert`` statement on one autocommit connection (no service,
no pool), rounds interleaved, and prints the median microseconds per call. The difference to
the asynchronous-commit line is the commit's WAL flush, which no variant can avoid at equal
durability. A last line times ``Pressroom.submit`` (validation, id, JSON, the pool) and the CPU
it spends in this process. Uses its own database on BENCH_PG_ADMIN_DSN's server (created and
dropped).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import psycopg

from pressroom.core.ids import new_id
from pressroom.core.tasks import load_task_modules
from pressroom.service import Pressroom
from pressroom.store import open_store
from pressroom.store.postgres import _Q

ADMIN = os.environ.get("BENCH_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/test")
DB = "bench_pressroom_submit_cost"
NOTIFY = """), sig AS (
    SELECT pg_notify('pressroom_jobs', queue) FROM ins WHERE status = 'queued'
)
SELECT created_at, (SELECT count(*) FROM sig) AS notified FROM ins"""
EVENT = """), ev AS (
    INSERT INTO pressroom_job_events (job_id, at, kind, data)
    SELECT id, created_at, 'status', jsonb_build_object('status', status, 'attempt', 0) FROM ins
"""
PARAMS = {
    "tenant": "default",
    "task": "bench.noop",
    "args": '{"sample": 1}',
    "queue": "default",
    "priority": 0,
    "max_attempts": 1,
    "timeout_s": None,
    "run_at": None,
    "metadata": "{}",
    "unique_key": None,
    "cache_key": None,
    "now": None,
}


def main() -> None:
    """Measure and print the variants."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--calls", type=int, default=800)
    args = ap.parse_args()
    full = _Q["job_insert"]
    if NOTIFY not in full or EVENT not in full:
        raise SystemExit("job_insert changed: update the variants in this script")
    variants = {
        "insert (as submitted)": (full, "on"),
        "without pg_notify": (full.replace(NOTIFY, ")\nSELECT created_at FROM ins"), "on"),
        "without the creation event": (full.replace(EVENT, ""), "on"),
        "synchronous_commit=off": (full, "off"),
    }
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB}")
        admin.execute(f"CREATE DATABASE {DB}")
    url = ADMIN.rsplit("/", 1)[0] + f"/{DB}"
    try:
        store = open_store(url)
        store.migrate()
        store.close()
        timings: dict[str, list[float]] = {name: [] for name in variants}
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET TimeZone TO 'UTC'")
            for _ in range(args.rounds):
                for name, (query, sync) in variants.items():
                    conn.execute(f"SET synchronous_commit = {sync}")
                    started = time.perf_counter()
                    for _ in range(args.calls):
                        conn.execute(query, {**PARAMS, "id": new_id()}).fetchone()
                    timings[name].append((time.perf_counter() - started) / args.calls * 1e6)
        for name, values in timings.items():
            print(f"{name:28} {statistics.median(values):6.0f} us per call (median of rounds)")
        load_task_modules([])
        store = open_store(url)
        service = Pressroom(store)
        for _ in range(100):
            service.submit("pressroom.noop", {})
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(args.calls):
            service.submit("pressroom.noop", {})
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"{'Pressroom.submit':28} {wall / args.calls * 1e6:6.0f} us per call, "
            f"{cpu / args.calls * 1e6:.0f} us of it this process's CPU"
        )
        store.close()
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
