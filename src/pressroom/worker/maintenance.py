"""Maintenance duties every node runs; each is safe with any number of nodes.

- promote: scheduled jobs whose time has come become queued;
- rescue: running jobs whose lease expired go back to the queue (or fail, out of attempts);
- reap: workers on this host whose process is gone have their jobs rescued at once;
- cron: periodic tasks are enqueued once per tick (a unique tick row decides which node wins);
- purge: the elected leader deletes finished jobs older than the retention period, and their
  artifacts (on a background thread, so object storage never delays heartbeats).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import timedelta

import psutil

from pressroom.artifacts import ArtifactStore, open_artifacts
from pressroom.core.clock import Clock, SystemClock
from pressroom.core.limits import cron_previous_tick
from pressroom.core.ports import Store
from pressroom.core.tasks import Registry
from pressroom.documents.retention import BackgroundDeleter, purge_finished
from pressroom.security.idempotency import IDEMPOTENCY_TTL_S
from pressroom.webhooks.delivery import Deliverer, DeliveryThread

log = logging.getLogger("pressroom.maintenance")

CRON_CATCH_UP_S = 300.0
"""A tick missed while every node was down is still enqueued if it is at most this old."""


def process_is_gone(pid: int, started_at: float) -> bool:
    """Whether the process that registered as ``pid`` at ``started_at`` no longer runs."""
    try:
        proc = psutil.Process(pid)
        return proc.create_time() > started_at + 1.0 or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False


class Maintenance:
    """Runs each duty when it is due; failures are logged and retried at the next turn."""

    def __init__(
        self,
        store: Store,
        node_id: str,
        registry: Registry,
        *,
        retention_s: float,
        artifacts: ArtifactStore | None = None,
        rescue_every_s: float = 5.0,
        promote_every_s: float = 0.25,
        clock: Clock | None = None,
    ) -> None:
        """Prepare the duties for one node."""
        self.store = store
        self.node_id = node_id
        self.registry = registry
        self.retention_s = retention_s
        self._artifacts = artifacts
        self._deleter: BackgroundDeleter | None = None
        self.clock = clock or SystemClock()
        self.host = socket.gethostname()
        self._cron_done: dict[str, float] = {}
        self._duties: list[tuple[str, float, Callable[[], None]]] = [
            ("promote", promote_every_s, self.promote),
            ("rescue", rescue_every_s, self.rescue),
            ("reap", 15.0, self.reap_dead_local_workers),
            ("cron", 1.0, self.enqueue_cron),
            ("purge", 3600.0, self.purge),
            ("webhooks", 1.0, self.deliver_webhooks),
        ]
        now = time.monotonic()
        self._next = {name: now for name, _, _ in self._duties}
        self._next["purge"] = now + 60.0
        self.rescued_total = 0
        self.webhooks = DeliveryThread(lambda: Deliverer(self.store, clock=self.clock))

    def run_due(self) -> float:
        """Run every duty that is due; return seconds until the next one is."""
        now = time.monotonic()
        for name, every, duty in self._duties:
            if now >= self._next[name]:
                self._next[name] = now + every
                try:
                    duty()
                except Exception:
                    log.warning("maintenance duty %s failed; will retry", name, exc_info=True)
        return max(0.0, min(self._next.values()) - time.monotonic())

    def promote(self) -> None:
        """Queue due scheduled jobs."""
        self.store.job_promote(now=self.clock.now())

    def rescue(self) -> None:
        """Rescue jobs whose lease expired."""
        ids = self.store.job_rescue(now=self.clock.now())
        if ids:
            self.rescued_total += len(ids)
            log.warning("rescued %d job(s) whose worker stopped heartbeating", len(ids))

    def reap_dead_local_workers(self) -> None:
        """Rescue at once the jobs of workers on this host whose process is gone."""
        for worker in self.store.worker_list():
            if worker.id == self.node_id or worker.host != self.host:
                continue
            if process_is_gone(worker.pid, worker.started_at.timestamp()):
                ids = self.store.job_rescue_worker(worker.id, now=self.clock.now())
                self.store.worker_delete(worker.id)
                self.rescued_total += len(ids)
                log.warning(
                    "worker %s (pid %d) is gone; rescued %d job(s)", worker.id, worker.pid, len(ids)
                )
        self.store.worker_prune(self.clock.now() - timedelta(hours=1))

    def enqueue_cron(self) -> None:
        """Enqueue the current tick of each periodic task, once across all nodes."""
        now = self.clock.now()
        for spec in self.registry.periodic():
            assert spec.cron is not None
            tick = cron_previous_tick(spec.cron, now)
            stamp = tick.timestamp()
            if self._cron_done.get(spec.name) == stamp:
                continue
            if (now - tick).total_seconds() <= CRON_CATCH_UP_S:
                job = spec.new_job(spec.cron_args, unique_key=None)
                if self.store.cron_enqueue(spec.name, tick, job, now=now):
                    log.info("enqueued %s for cron tick %s", spec.name, tick.isoformat())
            self._cron_done[spec.name] = stamp

    def artifacts(self) -> ArtifactStore:
        """The artifact store purged with the jobs (``PRESSROOM_STORAGE_URL`` unless given)."""
        if self._artifacts is None:
            self._artifacts = open_artifacts(os.environ.get("PRESSROOM_STORAGE_URL") or None)
        return self._artifacts

    def purge(self) -> None:
        """Delete old finished jobs, on the elected node only."""
        if not self.store.leader_attempt_elect("purge", self.node_id, 7200, now=self.clock.now()):
            return
        cutoff = self.clock.now() - timedelta(seconds=self.retention_s)
        artifacts = self.artifacts()
        if self._deleter is None:
            self._deleter = BackgroundDeleter(artifacts)
        n = purge_finished(self.store, artifacts, cutoff, delete=self._deleter)
        if n:
            log.info("purged %d finished job(s) older than %s", n, cutoff.isoformat())
        self.store.webhook_delivery_purge(cutoff)
        self.store.batch_purge(cutoff)
        self.store.idempotency_purge(self.clock.now() - timedelta(seconds=IDEMPOTENCY_TTL_S))

    def deliver_webhooks(self) -> None:
        """Wake the webhook sender thread (started on first use)."""
        self.webhooks.kick()
