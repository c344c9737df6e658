"""Claiming does not slow with depth: PostgreSQL drain rate with 10,000 vs 1,000,000 queued jobs.

Runs with the project's interpreter (``.venv/bin/python bench/depth.py``). For each depth it
recreates a database, bulk-inserts that many ``pressroom.noop`` jobs, records the claim query's
plan, starts ``pressroom worker -c 2`` and measures the rate over the first ``--measure`` jobs
(first to last ``finished_at``); rounds interleave the depths. Writes ``bench/out/depth.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

from pressroom.core.models import NewJob
from pressroom.store import open_store
from pressroom.store.postgres import _Q

ADMIN = os.environ.get("BENCH_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/test")
DB = "bench_pressroom_depth"
OUT = Path(__file__).resolve().parent / "out"


def recreate() -> str:
    """Drop and create the benchmark database; return its URL."""
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB}"')
    return ADMIN.rpartition("/")[0] + "/" + DB


def fill(url: str, depth: int) -> float:
    """Insert ``depth`` queued jobs in batches; return jobs per second."""
    store = open_store(url)
    store.migrate()
    t0 = time.perf_counter()
    batch = [NewJob(task="pressroom.noop")] * 10_000
    for _ in range(depth // len(batch)):
        store.job_insert_many(batch)
    rate = depth / (time.perf_counter() - t0)
    store.close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE pressroom_jobs")
    return rate


def plan(url: str) -> list[str]:
    """The claim query's plan (EXPLAIN, not executed)."""
    params = {
        "queue": "default",
        "gated": True,
        "limit": 64,
        "worker_id": "explain",
        "now": None,
        "lease_s": 15.0,
    }
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("EXPLAIN (COSTS OFF) " + _Q["job_claim_one"], params).fetchall()
    return [r[0] for r in rows]


def drain(url: str, measure: int) -> float:
    """Start 2 worker processes; rate over the first ``measure`` completions."""
    env = {**os.environ, "PRESSROOM_DATABASE_URL": url}
    (OUT / "logs").mkdir(parents=True, exist_ok=True)
    log = (OUT / "logs" / "depth-worker.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pressroom", "worker", "-c", "2"], env=env, stderr=log
    )
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                # Through the finished-jobs index: counting by status scanned the whole table
                # (1,000,000 rows, 0.3 s of both cores) five times a second, during the
                # measurement and only at the deep end.
                (done,) = conn.execute(
                    "SELECT count(*) FROM pressroom_jobs WHERE finished_at IS NOT NULL"
                ).fetchone()
                if done >= measure:
                    break
                time.sleep(0.2)
            first, last = conn.execute(
                "SELECT min(finished_at), max(finished_at) FROM (SELECT finished_at FROM "
                "pressroom_jobs WHERE status = 'succeeded' ORDER BY finished_at LIMIT %s) t",
                (measure,),
            ).fetchone()
    finally:
        proc.terminate()
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()
    return float(measure / (last - first).total_seconds())


def main() -> None:
    """Measure each depth ``--runs`` times and write the results."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--depths", default="10000,1000000")
    ap.add_argument("--measure", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path, default=OUT / "depth.json")
    args = ap.parse_args()
    depths = [int(d) for d in args.depths.split(",")]
    rates: dict[int, list[float]] = {d: [] for d in depths}
    fills: dict[int, list[float]] = {d: [] for d in depths}
    plans: dict[int, list[str]] = {}
    # Rounds interleave the depths, so that a drift of the machine during the benchmark (a
    # neighbour's load, a checkpoint) falls on every depth alike rather than on the last one.
    for _ in range(args.runs):
        for depth in depths:
            url = recreate()
            fills[depth].append(fill(url, depth))
            plans[depth] = plan(url)
            rates[depth].append(drain(url, min(args.measure, depth)))
            print(
                f"depth {depth:>9,}: drain {rates[depth][-1]:,.0f} jobs/s "
                f"(bulk fill {fills[depth][-1]:,.0f}/s)",
                flush=True,
            )
    results: dict[str, Any] = {
        str(depth): {
            "rates": rates[depth],
            "median": statistics.median(rates[depth]),
            "fill_rates": fills[depth],
            "plan": plans[depth],
        }
        for depth in depths
    }
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    for line in next(iter(results.values()))["plan"]:
        print("  " + line)


if __name__ == "__main__":
    main()
