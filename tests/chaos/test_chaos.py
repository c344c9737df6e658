"""Kill workers and restart the database mid-run: every job still ends succeeded."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pressroom.core.models import EventKind, Job, JobFilter
from pressroom.service import Pressroom
from pressroom.testing import WorkerProcess, wait_until

StartWorker = Callable[..., WorkerProcess]
JOBS = 500


def _all_done(service: Pressroom) -> bool:
    totals = service.stats().totals()
    return totals["succeeded"] + totals["failed"] + totals["cancelled"] >= JOBS


def _every_job(service: Pressroom) -> Iterator[Job]:
    """Every job in the store, a page of 1,000 at a time."""
    cursor = None
    while page := service.list_jobs(JobFilter(limit=1000, before=cursor)):
        cursor = page[-1].id
        yield from page


def _check_rescue_delays(service: Pressroom, limit_s: float) -> int:
    """Every attempt lost to a dead worker ran again within ``limit_s``; returns how many."""
    rescued = 0
    for job in _every_job(service):
        if job.attempt == 1:
            continue
        events = service.events(job.id)
        for i, e in enumerate(events):
            if e.kind == EventKind.ERROR and e.data["type"] in ("WorkerDied", "LeaseExpired"):
                nxt = next(
                    x
                    for x in events[i:]
                    if x.kind == EventKind.STATUS and x.data["status"] == "running"
                )
                assert (nxt.at - e.at).total_seconds() <= limit_s, job.id
                rescued += 1
    return rescued


def test_kill_children_and_supervisors_during_500_jobs(
    service: Pressroom, start_worker: StartWorker
) -> None:
    """kill -9 of children and of whole nodes every ~2 s: all 500 jobs succeed, none stuck."""
    rng = random.Random(7)
    service.submit_many(
        [service.build_job("pressroom.sleep", {"seconds": 0.1}) for _ in range(JOBS)]
    )
    workers = [start_worker("-c", "2"), start_worker("-c", "2")]
    kills = 0
    deadline = time.monotonic() + 180
    while not _all_done(service) and time.monotonic() < deadline:
        time.sleep(rng.uniform(1.5, 2.5))
        victim = rng.randrange(len(workers))
        if rng.random() < 0.3:
            workers[victim].kill()
            workers[victim] = start_worker("-c", "2")
        else:
            children = workers[victim].children()
            if children:
                os.kill(rng.choice(children), signal.SIGKILL)
        kills += 1
    wait_until(lambda: _all_done(service), timeout=120, interval=0.5, message="all jobs done")
    totals = service.stats().totals()
    assert totals["succeeded"] == JOBS, totals
    assert kills >= 3
    assert _check_rescue_delays(service, 30.0) >= 1


def _restart_postgres() -> None:
    versions = sorted(os.listdir("/etc/postgresql"))
    subprocess.run(
        [
            "pg_ctlcluster",
            "--skip-systemctl-redirect",
            versions[-1],
            "main",
            "restart",
            "-m",
            "immediate",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
def test_postgres_restart_mid_run(
    service: Pressroom, start_worker: StartWorker, tmp_path: Path
) -> None:
    """An immediate PostgreSQL restart mid-run: workers reconnect and all jobs succeed, each
    with one result (claims commit asynchronously, so the restart may forget some; those
    jobs run again, and their forgotten runs must not record a second outcome)."""
    if not shutil.which("pg_ctlcluster") or not os.path.isdir("/etc/postgresql") or os.geteuid():
        pytest.skip("needs a local Debian PostgreSQL cluster controllable by pg_ctlcluster as root")
    service.submit_many(
        [service.build_job("pressroom.sleep", {"seconds": 0.05}) for _ in range(JOBS)]
    )
    start_worker("-c", "2")
    start_worker("-c", "2")
    wait_until(lambda: service.stats().totals()["succeeded"] >= 50, timeout=60)
    _restart_postgres()
    wait_until(
        lambda: _all_done_after_restart(service),
        timeout=180,
        interval=0.5,
        message="all jobs done after restart",
    )
    assert service.stats().totals()["succeeded"] == JOBS
    assert _terminal_events_per_job(service) == {1}


def _terminal_events_per_job(service: Pressroom) -> set[int]:
    """The distinct numbers of terminal status events in the jobs' logs."""
    counts: set[int] = set()
    for job in _every_job(service):
        events = service.events(job.id)
        statuses = [e.data["status"] for e in events if e.kind == EventKind.STATUS]
        counts.add(sum(s in ("succeeded", "failed", "cancelled") for s in statuses))
    return counts


def _all_done_after_restart(service: Pressroom) -> bool:
    try:
        return _all_done(service)
    except Exception:  # noqa: BLE001 - the server may still be starting
        return False
