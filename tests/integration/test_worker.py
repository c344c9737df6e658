"""A real worker node (supervisor + child processes) running jobs from a real database."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest

from pressroom.core.models import EventKind, JobFilter, JobStatus
from pressroom.service import Pressroom
from pressroom.testing import WorkerProcess, wait_until

StartWorker = Callable[..., WorkerProcess]


def finished(service: Pressroom, job_id: str, timeout: float = 20.0):
    """Wait for a job to reach a terminal status and return it."""
    return wait_until(
        lambda: (j := service.get(job_id)).status.terminal and j,
        timeout=timeout,
        message=f"job {job_id} finished",
    )


def test_job_runs_and_records_result_and_progress(
    service: Pressroom, start_worker: StartWorker
) -> None:
    """A submitted job runs in a child process; its result and progress are stored."""
    start_worker("-c", "2")
    job, _ = service.submit("test.progress", {"steps": 4})
    done = finished(service, job.id)
    assert done.status == JobStatus.SUCCEEDED and done.result == 4
    percents = [e.data["percent"] for e in service.events(job.id) if e.kind == EventKind.PROGRESS]
    assert percents[-1] == 100 and percents == sorted(percents)


def test_retry_with_backoff_then_success(
    service: Pressroom, start_worker: StartWorker, tmp_path: Path
) -> None:
    """A task failing once is retried after a backoff and succeeds on attempt 2."""
    start_worker("-c", "1")
    job, _ = service.submit("test.flaky", {"marker": str(tmp_path / "m")})
    done = finished(service, job.id)
    assert done.status == JobStatus.SUCCEEDED and done.result == {"attempt": 2}
    statuses = [e.data.get("status") for e in service.events(job.id) if e.kind == EventKind.STATUS]
    assert statuses == ["queued", "running", "scheduled", "queued", "running", "succeeded"]


def test_permanent_error_fails_at_once(service: Pressroom, start_worker: StartWorker) -> None:
    """A permanent error fails the job on the first attempt, with its message."""
    start_worker("-c", "1")
    job, _ = service.submit("test.permanent", max_attempts=5)
    done = finished(service, job.id)
    assert done.status == JobStatus.FAILED and done.attempt == 1
    assert done.error is not None and "undefined variable" in done.error.message


def test_timeout_kills_and_retries_then_fails(
    service: Pressroom, start_worker: StartWorker
) -> None:
    """A job over its timeout is killed, retried while attempts remain, then failed."""
    start_worker("-c", "1")
    job, _ = service.submit("test.hang", {"seconds": 60}, timeout_s=0.5, max_attempts=2)
    done = finished(service, job.id, timeout=30)
    assert done.status == JobStatus.FAILED and done.attempt == 2
    assert done.error is not None and done.error.type == "Timeout"


def test_cancel_stops_a_running_job_that_ignores_it(
    service: Pressroom, start_worker: StartWorker
) -> None:
    """Cancelling a running job kills its process even if the task never checks."""
    worker = start_worker("-c", "1")
    job, _ = service.submit("test.hang", {"seconds": 60})
    wait_until(lambda: service.get(job.id).status == JobStatus.RUNNING)
    (child_pid,) = wait_until(worker.children)
    service.cancel(job.id)
    done = finished(service, job.id, timeout=20)
    assert done.status == JobStatus.CANCELLED
    wait_until(
        lambda: (
            not psutil.pid_exists(child_pid)
            or psutil.Process(child_pid).status() == psutil.STATUS_ZOMBIE
        )
    )


def test_killed_child_job_runs_again(
    service: Pressroom, start_worker: StartWorker, tmp_path: Path
) -> None:
    """When a child dies mid-job, the job is retried on a fresh child and succeeds."""
    start_worker("-c", "1")
    job, _ = service.submit("test.crash_once", {"marker": str(tmp_path / "crash")})
    done = finished(service, job.id, timeout=30)
    assert done.status == JobStatus.SUCCEEDED and done.attempt == 2
    errors = [e.data["type"] for e in service.events(job.id) if e.kind == EventKind.ERROR]
    assert errors == ["WorkerDied"]


def test_killed_supervisor_jobs_rescued_by_next_worker(
    service: Pressroom, start_worker: StartWorker
) -> None:
    """After kill -9 of a whole node, a new node on the host rescues its jobs at once."""
    first = start_worker("-c", "1", "--lease", "300")
    job, _ = service.submit("test.hang", {"seconds": 2}, max_attempts=3)
    wait_until(lambda: service.get(job.id).status == JobStatus.RUNNING)
    first.kill()
    start_worker("-c", "1", "--lease", "300")
    done = finished(service, job.id, timeout=30)
    assert done.status == JobStatus.SUCCEEDED and done.attempt == 2


def test_sigterm_drains_running_job_and_gives_back_the_rest(
    service: Pressroom, start_worker: StartWorker, tmp_path: Path
) -> None:
    """On SIGTERM a running job finishes; jobs not yet started stay queued; exit code 0."""
    worker = start_worker("-c", "1", "--prefetch", "2")
    record = tmp_path / "r"
    running, _ = service.submit("test.record", {"path": str(record), "seconds": 1.5})
    wait_until(lambda: record.exists() and " start " in record.read_text())
    waiting = [service.submit("test.hang", {"seconds": 0})[0] for _ in range(3)]
    assert worker.stop() == 0
    assert service.get(running.id).status == JobStatus.SUCCEEDED
    assert all(service.get(j.id).status == JobStatus.QUEUED for j in waiting)
    assert service.workers() == []


def test_sigterm_past_grace_releases_running_job(
    service: Pressroom, start_worker: StartWorker
) -> None:
    """A job still running when the grace period ends is given back, its attempt not spent."""
    worker = start_worker("-c", "1", "--grace", "0.5")
    job, _ = service.submit("test.hang", {"seconds": 60}, max_attempts=1)
    wait_until(lambda: service.get(job.id).status == JobStatus.RUNNING)
    assert worker.stop() == 0
    back = service.get(job.id)
    assert back.status == JobStatus.QUEUED and back.max_attempts == 2


def test_priority_and_delay(service: Pressroom, start_worker: StartWorker, tmp_path: Path) -> None:
    """With one child, higher priority runs first; a delayed job waits for its time."""
    log = tmp_path / "order"
    low, _ = service.submit("test.record", {"path": str(log)}, priority=0)
    high, _ = service.submit("test.record", {"path": str(log)}, priority=10)
    start_worker("-c", "1", "--prefetch", "0")
    for j in (low, high):
        finished(service, j.id)
    starts = [ln.split()[0] for ln in log.read_text().splitlines() if " start " in ln]
    assert starts == [high.id, low.id]
    later, _ = service.submit("test.record", {"path": str(log)}, priority=99, delay_s=1.0)
    assert later.status == JobStatus.SCHEDULED
    done = finished(service, later.id)
    assert done.started_at is not None and done.started_at >= later.run_at


def test_child_recycled_after_max_jobs(service: Pressroom, start_worker: StartWorker) -> None:
    """A child is replaced after --max-jobs-per-child jobs."""
    start_worker("-c", "1", "--max-jobs-per-child", "2")
    ids = [service.submit("test.pid")[0].id for _ in range(6)]
    pids = [finished(service, i).result for i in ids]
    assert len(set(pids)) == 3


def test_busy_child_recycled_after_exactly_max_jobs(
    service: Pressroom, start_worker: StartWorker
) -> None:
    """A child kept busy with fast jobs (sent ahead, then in chunks) still runs exactly
    --max-jobs-per-child jobs before it is replaced."""
    ids = service.submit_many([service.build_job("test.pid", {}) for _ in range(60)])
    start_worker("-c", "1", "--max-jobs-per-child", "10")
    pids = [finished(service, job_id).result for job_id in ids]
    assert sorted(Counter(pids).values()) == [10] * 6


def test_queue_concurrency_limit_across_workers(
    service: Pressroom, start_worker: StartWorker, tmp_path: Path
) -> None:
    """A queue limited to one running job never runs two at once, even over two nodes."""
    service.set_queue_limits("serial", concurrency=1)
    log = tmp_path / "serial"
    ids = [
        service.submit("test.record", {"path": str(log), "seconds": 0.2}, queue="serial")[0].id
        for _ in range(5)
    ]
    start_worker("-c", "2", "-q", "serial")
    start_worker("-c", "2", "-q", "serial")
    for i in ids:
        assert finished(service, i).status == JobStatus.SUCCEEDED
    depth = 0
    for line in log.read_text().splitlines():
        depth += 1 if " start " in line else -1
        assert depth <= 1


def test_cron_task_enqueued_once_per_tick_with_two_workers(
    service: Pressroom, start_worker: StartWorker
) -> None:
    """A per-second cron task is enqueued exactly once per tick by two competing nodes."""
    start_worker("-c", "1", tasks="tests.cron_tasks")
    start_worker("-c", "1", tasks="tests.cron_tasks")
    wait_until(lambda: len(service.list_jobs(JobFilter(task="test.every_second"))) >= 4, timeout=20)
    jobs = service.list_jobs(JobFilter(task="test.every_second", limit=1000))
    ticks = [j.created_at.replace(microsecond=0) for j in jobs]
    assert len(ticks) == len(set(ticks))


def test_four_nodes_under_load_never_fail_on_locks(
    service: Pressroom, start_worker: StartWorker, tmp_path: Path, store_url: str
) -> None:
    """Four worker processes under load on one database: every job succeeds, no lock errors."""
    ids = service.submit_many([service.build_job("pressroom.noop") for _ in range(2000)])
    workers = [start_worker("-c", "2") for _ in range(4)]
    for i in range(20):
        service.submit("pressroom.noop")
        if i % 5 == 0:
            service.stats()
    wait_until(lambda: service.stats().totals()["succeeded"] >= 2020, timeout=120)
    assert service.stats().totals()["failed"] == 0
    assert all(service.get(i).status == JobStatus.SUCCEEDED for i in ids[:50])
    for w in workers:
        w.stop()
    logs = "".join(p.read_text() for p in tmp_path.glob("worker-*.log"))
    assert "locked" not in logs.lower()
    assert "Traceback" not in logs


@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
def test_jobs_run_while_a_heartbeat_is_stuck_in_the_database(
    service: Pressroom, start_worker: StartWorker, store_url: str
) -> None:
    """Heartbeats and maintenance run off the supervisor's loop: while they wait on a lock in
    the database (a SHARE lock on the worker table holds up the heartbeat's worker-row refresh
    and maintenance's prune of silent workers), the node still claims, runs and finishes jobs."""
    start_worker("-c", "1", "--lease", "3")
    wait_until(service.workers)
    stuck = (
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        " AND datname = current_database() AND query LIKE '%pressroom_workers%'"
    )
    with _locked(store_url, "pressroom_workers IN SHARE MODE") as probe:
        wait_until(lambda: _one(probe, stuck) > 0, message="a write of a worker row waits")
        jobs = [service.submit("test.hang", {"seconds": 0})[0] for _ in range(5)]
        for job in jobs:
            assert finished(service, job.id, timeout=10).status == JobStatus.SUCCEEDED
        assert _one(probe, stuck) > 0


@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
def test_supervisor_idles_while_a_claim_waits_on_the_database(
    service: Pressroom, start_worker: StartWorker, store_url: str
) -> None:
    """A claim held up in the database (the jobs table locked against it) is waited for, not
    spun on: over a second of that wait past the node's poll interval, the supervisor uses a
    small fraction of one CPU (its loop spun at 100 % before)."""
    worker = start_worker("-c", "1")
    wait_until(service.workers)
    stuck = (
        "SELECT coalesce(max(extract(epoch FROM now() - query_start)), 0) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        " AND query LIKE '%FOR UPDATE SKIP LOCKED%'"
    )
    proc = psutil.Process(worker.pid)
    with _locked(store_url, "pressroom_jobs IN EXCLUSIVE MODE") as probe:
        # From 1.1 s on, the node's next poll (every 1 s) is past due while the claim waits.
        wait_until(lambda: _one(probe, stuck) > 1.1, message="a claim waits on the lock")
        cpu, wall = sum(proc.cpu_times()[:2]), time.monotonic()
        wait_until(lambda: _one(probe, stuck) > 2.3, message="the claim waited 2.3 s")
        used = (sum(proc.cpu_times()[:2]) - cpu) / (time.monotonic() - wall)
    assert used < 0.3, f"the supervisor used {used:.0%} of a CPU while its claim waited"
    job = service.submit("test.hang", {"seconds": 0})[0]
    assert finished(service, job.id, timeout=10).status == JobStatus.SUCCEEDED


@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
def test_a_claim_the_database_forgot_stops_the_old_run(
    service: Pressroom, start_worker: StartWorker, store_url: str, tmp_path: Path
) -> None:
    """Claims commit asynchronously on PostgreSQL, so a crash of the server can forget one: the
    job is queued again under its previous attempt number while the node still runs it. When
    the node claims it again, it stops the old run; only the new run ends and is recorded."""
    start_worker("-c", "2", "--lease", "300")
    runs = tmp_path / "runs"
    job, _ = service.submit("test.record", {"path": str(runs), "seconds": 2})
    wait_until(lambda: runs.exists() and " start " in runs.read_text(), message="the first run")
    with psycopg.connect(store_url, autocommit=True) as conn:  # what such a crash leaves
        conn.execute(
            "UPDATE pressroom_jobs SET status = 'queued', attempt = attempt - 1,"
            " worker_id = NULL, started_at = NULL, lease_expires_at = NULL WHERE id = %s",
            (job.id,),
        )
        conn.execute("SELECT pg_notify('pressroom_jobs', 'default')")
    done = finished(service, job.id, timeout=30)
    assert done.status == JobStatus.SUCCEEDED and done.attempt == 1
    kinds = Counter(line.split()[1] for line in runs.read_text().splitlines())
    assert kinds == {"start": 2, "end": 1}, runs.read_text()


@contextlib.contextmanager
def _locked(store_url: str, table_and_mode: str) -> Iterator[psycopg.Connection[Any]]:
    """Hold ``LOCK TABLE <table_and_mode>`` in an open transaction; yield a probe connection."""
    with (
        psycopg.connect(store_url, autocommit=True) as lock,
        psycopg.connect(store_url, autocommit=True) as probe,
        lock.transaction(),
    ):
        lock.execute(f"LOCK TABLE {table_and_mode}")
        yield probe


def _one(conn: psycopg.Connection[Any], query: str) -> float:
    """The number the one-row, one-column ``query`` returns."""
    row = conn.execute(query).fetchone()
    assert row is not None
    return float(row[0])


def test_worker_refuses_outdated_schema(tmp_path: Path) -> None:
    """A worker on an unmigrated database exits with an error telling to run migrate."""
    url = f"sqlite:///{tmp_path}/empty.db"
    worker = WorkerProcess(url, "-c", "1", log_path=str(tmp_path / "w.log")).start()
    assert worker.proc is not None
    code = worker.proc.wait(30)
    assert code != 0
    assert "pressroom migrate" in (tmp_path / "w.log").read_text()


def test_supervisor_children_die_with_it(start_worker: StartWorker, service: Pressroom) -> None:
    """Killing the supervisor also ends its children (no orphans keep running jobs)."""
    worker = start_worker("-c", "2")
    children = wait_until(lambda: len(worker.children()) == 2 and worker.children())
    os.kill(worker.pid, signal.SIGKILL)
    assert worker.proc is not None
    worker.proc.wait(10)
    wait_until(
        lambda: (
            not any(
                psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
                for p in children
            )
        ),
        timeout=10,
    )
    time.sleep(0)  # the assertion above is the check; nothing to wait for here
