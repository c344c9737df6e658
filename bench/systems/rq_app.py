"""RQ on Redis; ``rq worker --worker-class rq.worker.SimpleWorker`` per worker."""

from __future__ import annotations

from typing import ClassVar

from redis import Redis
from rq import Queue

from common import REDIS_URL, System, record_job, venv_script

QUEUE = "bench"


def noop(sample: int) -> None:
    """The benchmark job: record completion, nothing else."""
    record_job(sample)


class RQSimple(System):
    """RQ with 2 SimpleWorker processes (no fork per job)."""

    name = "rq"
    label = "RQ SimpleWorker x 2"
    distributions: ClassVar[tuple[str, ...]] = ("rq", "redis")
    drain_jobs = 3_000
    enqueue_calls = 5_000
    supports_bulk = True
    notes = "rq worker -w rq.worker.SimpleWorker -q; default result_ttl (500 s)"

    def setup(self) -> None:
        """Flush the Redis DB and open a client."""
        self.ctx.recorder.flush()
        self.redis = Redis.from_url(REDIS_URL)
        self.queue = Queue(QUEUE, connection=self.redis)

    def enqueue_one(self, sample: int = -1) -> None:
        """``Queue.enqueue``: one MULTI/EXEC pipeline per job."""
        self.queue.enqueue(noop, sample)

    def enqueue_bulk(self, n: int) -> None:
        """``Queue.enqueue_many``: ``n`` jobs in one pipeline."""
        data = [Queue.prepare_data(noop, args=(-1,)) for _ in range(n)]
        self.queue.enqueue_many(data)

    def start_workers(self, n: int) -> None:
        """``n`` separate SimpleWorker processes."""
        for i in range(n):
            self.workers.spawn(
                [
                    venv_script("rq"),
                    "worker",
                    "--worker-class",
                    "rq.worker.SimpleWorker",
                    "--url",
                    REDIS_URL,
                    "--name",
                    f"bench{i}",
                    "-q",
                    QUEUE,
                ],
            )

    def teardown(self) -> None:
        """Close the client and flush the Redis DB."""
        redis_client = getattr(self, "redis", None)
        if redis_client is not None:
            redis_client.close()
        super().teardown()
