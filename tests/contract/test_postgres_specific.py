"""PostgreSQL-only checks: the claim's and the finish's query plans, and surviving connections
the server kills."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pressroom.core.models import ClaimParams, JobStatus, NewJob
from pressroom.store._common import load_queries
from pressroom.store.postgres import PostgresStore
from tests.conftest import truncate_postgres

pytestmark = pytest.mark.postgres

T0 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
QUERIES = load_queries("pressroom.store", "postgres_queries.sql")
CLAIM_ONE = QUERIES["job_claim_one"]
CLAIM_PARAMS = {
    "queue": "default",
    "limit": 10,
    "worker_id": "w1",
    "lease_s": 30.0,
    "now": None,
    "gated": True,
}


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of a JSON plan, depth first."""
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _assert_index_walk(plan: dict[str, Any]) -> None:
    """The plan reads queued jobs through pressroom_jobs_claim and sorts nothing."""
    nodes = list(_nodes(plan))
    assert any(
        n["Node Type"] == "Index Scan" and n.get("Index Name") == "pressroom_jobs_claim"
        for n in nodes
    ), plan
    assert not [n for n in nodes if "Sort" in n["Node Type"]], plan
    assert not [
        n
        for n in nodes
        if n["Node Type"] == "Seq Scan" and n.get("Relation Name") == "pressroom_jobs"
    ], plan


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[PostgresStore]:
    """A PostgreSQL store on empty tables."""
    truncate_postgres(pg_url)
    store = PostgresStore(pg_url)
    yield store
    store.close()


def test_single_queue_claim_walks_the_claim_index_without_sorting(
    pg_store: PostgresStore, pg_url: str
) -> None:
    """With 20,000 queued jobs, the claim plan (custom and generic) is an index walk, no sort."""
    pg_store.job_insert_many([NewJob(task="t", priority=i % 3) for i in range(20_000)], now=T0)
    pg_store.job_insert_many([NewJob(task="t", queue="other")] * 200, now=T0)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("ANALYZE pressroom_jobs")
        row = conn.execute("EXPLAIN (FORMAT JSON) " + CLAIM_ONE, CLAIM_PARAMS).fetchone()
        assert row is not None
        _assert_index_walk(row[0][0]["Plan"])
        # The plan a prepared statement settles on, with no parameter values to go by.
        numbered = CLAIM_ONE
        for i, name in enumerate(CLAIM_PARAMS, 1):
            numbered = numbered.replace(f"%({name})s", f"${i}")
        assert not re.search(r"%\(\w+\)s", numbered)
        conn.execute("SET plan_cache_mode = force_generic_plan")
        conn.execute("PREPARE claim(text, int, text, float8, timestamptz, boolean) AS " + numbered)
        row = conn.execute(
            "EXPLAIN (FORMAT JSON) EXECUTE claim('default', 10, 'w1', 30, NULL, true)"
        ).fetchone()
        assert row is not None
        _assert_index_walk(row[0][0]["Plan"])
    got = pg_store.job_claim(ClaimParams("w1", ("default",), 10, 30, now=T0))
    assert [j.priority for j in got] == [2] * 10


def test_a_claim_commits_asynchronously_and_only_a_claim(
    pg_store: PostgresStore, pg_url: str
) -> None:
    """A claim that takes jobs turns synchronous_commit off for its own transaction (its
    commit does not wait for the WAL flush); the session's setting is back on after it."""
    pg_store.job_insert(NewJob(task="t"), now=T0)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = on")
        with conn.transaction():
            assert len(conn.execute(CLAIM_ONE, CLAIM_PARAMS).fetchall()) == 1
            assert conn.execute("SHOW synchronous_commit").fetchone() == ("off",)
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("on",)


def test_prepared_finish_plan_walks_the_primary_key(pg_store: PostgresStore, pg_url: str) -> None:
    """With 20,000 jobs, the generic plan of the (prepared) finish reads rows by primary key."""
    pg_store.job_insert_many([NewJob(task="t")] * 20_000, now=T0)
    held = pg_store.job_claim(ClaimParams("w1", ("default",), 64, 30, now=T0))
    numbered = QUERIES["job_finish"]
    for i, name in enumerate(("ids", "outcomes", "worker_id", "now"), 1):
        numbered = re.sub(rf"%\({name}\)[sb]", f"${i}", numbered)
    assert not re.search(r"%\(\w+\)[sb]", numbered)
    ids = [j.id for j in held]
    outcomes = "{" + ",".join(f'"{j.id}:1": {{"s": "succeeded"}}' for j in held) + "}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("ANALYZE pressroom_jobs")
        conn.execute("SET plan_cache_mode = force_generic_plan")
        conn.execute("PREPARE finish(text[], text, text, timestamptz) AS " + numbered)
        explain = sql.SQL("EXPLAIN (FORMAT JSON) EXECUTE finish({}, {}, 'w1', NULL)")
        row = conn.execute(explain.format(sql.Literal(ids), sql.Literal(outcomes))).fetchone()
    assert row is not None
    nodes = _nodes(row[0][0]["Plan"])
    scans = [
        n for n in nodes if n.get("Relation Name") == "pressroom_jobs" and "Scan" in n["Node Type"]
    ]
    assert [(n["Node Type"], n.get("Index Name")) for n in scans] == [
        ("Index Scan", "pressroom_jobs_pkey")
    ], row[0]


def test_store_survives_terminated_connections(pg_store: PostgresStore, pg_url: str) -> None:
    """After the server kills the store's connections, reads, claims and the listener recover."""
    job, _ = pg_store.job_insert(NewJob(task="t"), now=T0)
    listener = pg_store.listener()
    try:
        listener.poll()
        with psycopg.connect(pg_url, autocommit=True) as admin:
            killed = [
                r[0]
                for r in admin.execute(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ]
            assert killed
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (killed,)
            )
            deadline = time.monotonic() + 10
            while admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (killed,)
            ).fetchone() != (0,):
                assert time.monotonic() < deadline, "terminated backends did not exit"
                time.sleep(0.02)

        assert pg_store.job_get(job.id).id == job.id
        (claimed,) = pg_store.job_claim(ClaimParams("w1", ("default",), 5, 30, now=T0))
        assert claimed.id == job.id and claimed.status == JobStatus.RUNNING

        assert listener.poll(), "a broken listener must report True so its caller claims"
        deadline = time.monotonic() + 10
        while listener.fileno() is None:
            assert time.monotonic() < deadline, "the listener did not reconnect"
            listener.poll()
            time.sleep(0.05)
        listener.poll()
        pg_store.job_insert(NewJob(task="t"))
        deadline = time.monotonic() + 5
        while not listener.poll():
            assert time.monotonic() < deadline, "the reconnected listener heard nothing"
            time.sleep(0.02)
    finally:
        listener.close()
