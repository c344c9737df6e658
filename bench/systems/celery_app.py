"""Celery 5.7 with the Redis broker, no result backend; prefork -c N or N x solo."""

from __future__ import annotations

from typing import ClassVar

from celery import Celery
from kombu import pools

from common import REDIS_URL, System, record_job, venv_script

QUEUE = "bench"


def make_app() -> Celery:
    """The Celery app: Redis broker, no result backend, one queue."""
    celery_app = Celery("bench", broker=REDIS_URL, set_as_current=False)
    celery_app.conf.update(
        task_default_queue=QUEUE,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
    )
    return celery_app


app = make_app()  # the workers' app (celery -A systems.celery_app)


@app.task(name="noop")
def noop(sample: int) -> None:
    """The benchmark job: record completion, nothing else."""
    record_job(sample)


_COMMON_ARGS = [
    "--without-gossip",
    "--without-mingle",
    "--without-heartbeat",
    "-l",
    "WARNING",
    "-Q",
    QUEUE,
]


class CeleryPrefork(System):
    """Celery prefork pool: one parent, ``-c N`` forked children."""

    name = "celery-prefork"
    label = "Celery, prefork -c 2 (Redis)"
    distributions: ClassVar[tuple[str, ...]] = ("celery", "kombu", "redis")
    drain_jobs = 5_000
    enqueue_calls = 5_000
    notes = "celery worker -P prefork -c 2 --without-gossip/mingle/heartbeat, no result backend"

    def setup(self) -> None:
        """Flush the Redis DB (broker and recorder); a fresh client app per run.

        kombu caches declared queue bindings per connection; after FLUSHDB they are gone
        from Redis, so a client connection may not outlive its run.
        """
        self.ctx.recorder.flush()
        self.client = make_app()
        self.client_noop = self.client.task(name="noop")(record_job)

    def enqueue_one(self, sample: int = -1) -> None:
        """``task.delay()``: one publish (LPUSH) per job."""
        self.client_noop.delay(sample)

    def start_workers(self, n: int) -> None:
        """One prefork worker with ``n`` child processes."""
        self.workers.spawn(
            [
                venv_script("celery"),
                "-A",
                "systems.celery_app",
                "worker",
                "-P",
                "prefork",
                "-c",
                str(n),
                "-n",
                "prefork@%h",
                *_COMMON_ARGS,
            ],
        )

    def teardown(self) -> None:
        """Close the client app's connections and flush the Redis DB."""
        pools.reset()  # kombu's connection pools are global, keyed by broker URL
        super().teardown()


class CelerySolo(CeleryPrefork):
    """Celery solo pool: ``N`` separate single-process workers."""

    name = "celery-solo"
    label = "Celery, 2 x solo pool (Redis)"
    drain_jobs = 6_000
    notes = "2 x celery worker -P solo --without-gossip/mingle/heartbeat, no result backend"

    def start_workers(self, n: int) -> None:
        """``n`` separate solo-pool workers."""
        for i in range(n):
            self.workers.spawn(
                [
                    venv_script("celery"),
                    "-A",
                    "systems.celery_app",
                    "worker",
                    "-P",
                    "solo",
                    "-n",
                    f"solo{i}@%h",
                    *_COMMON_ARGS,
                ],
            )
