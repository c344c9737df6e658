"""The store port: every operation the engine needs from a database, as noun-verb methods.

A driver (SQLite, PostgreSQL, memory) implements :class:`Store`; one conformance suite
(``tests/contract``) holds them all to the same behaviour. Methods that depend on time take an
optional ``now`` so tests can drive the clock; without it the driver uses the current time.
Every write is one short transaction; no transaction stays open while a job runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from pressroom.core.accounts import ApiKey, IdempotencyRecord, Tenant
from pressroom.core.batches import Batch, BatchMember
from pressroom.core.models import (
    JSON,
    ClaimParams,
    HeartbeatReply,
    Job,
    JobEvent,
    JobFilter,
    NewJob,
    NewTemplate,
    Outcome,
    ProgressUpdate,
    QueueLimits,
    Stats,
    Template,
    WorkerInfo,
)
from pressroom.core.webhooks import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)


class Listener(Protocol):
    """Wake-up hints that new work may be available; polling stays the backstop.

    ``fileno`` returns a descriptor to wait on when the driver can notify (PostgreSQL), else
    ``None`` and the caller polls :meth:`poll` every ``poll_interval_s`` (SQLite).
    """

    poll_interval_s: float

    def fileno(self) -> int | None:
        """A descriptor that becomes readable on a notification, or None."""
        ...

    def poll(self) -> bool:
        """Consume pending hints without blocking; True if anything may have changed."""
        ...

    def close(self) -> None:
        """Release the listener's connection."""
        ...


class Store(Protocol):
    """A durable job store."""

    url: str
    """Where the store lives, without credentials."""

    @property
    def supports_listener(self) -> bool:
        """Whether :meth:`listener` gives push notifications rather than a cheap poll."""
        ...

    # --- schema -------------------------------------------------------------------------------
    def migrate(self) -> list[int]:
        """Apply pending migrations; return the versions applied."""
        ...

    def schema_version(self) -> tuple[int, int]:
        """(version in the database, newest version this code knows)."""
        ...

    def close(self) -> None:
        """Close connections; the store is unusable afterwards."""
        ...

    # --- jobs: writes ---------------------------------------------------------------------------
    def job_insert(self, job: NewJob, *, now: datetime | None = None) -> tuple[Job, bool]:
        """Insert one job; with a unique key already held, return that job and False."""
        ...

    def job_insert_many(self, jobs: Sequence[NewJob], *, now: datetime | None = None) -> list[str]:
        """Insert many jobs in one transaction (no unique keys); return their ids in order."""
        ...

    def job_claim(self, params: ClaimParams) -> list[Job]:
        """Move up to ``limit`` available jobs to ``running`` under a lease, best first.

        Order: priority (higher first), then ``run_at``, then id. Queue concurrency and rate
        limits are honoured. Each claim increments ``attempt``, the fencing token.
        """
        ...

    def job_heartbeat(
        self,
        worker_id: str,
        held: Sequence[tuple[str, int]],
        lease_s: float,
        *,
        now: datetime | None = None,
    ) -> HeartbeatReply:
        """Extend the leases of jobs held as (id, attempt); report cancellations and lost jobs."""
        ...

    def job_finish(
        self,
        outcomes: Sequence[Outcome],
        *,
        progress: Sequence[ProgressUpdate] = (),
        worker_id: str | None = None,
        now: datetime | None = None,
    ) -> list[bool]:
        """Record ``progress`` (at most one update per job), then apply ``outcomes``, each
        fenced by (id, attempt), all in one transaction; one flag per outcome, False where the
        attempt is stale. A stale progress update is dropped without a word. With
        ``worker_id`` (a worker writing its own runs' outcomes) the fence is (id, attempt,
        worker): an attempt now held by another worker is stale too, as after a claim that
        a database crash forgot was made again under the same attempt number."""
        ...

    def job_progress(
        self,
        job_id: str,
        attempt: int,
        percent: float,
        message: str | None,
        *,
        now: datetime | None = None,
    ) -> bool:
        """Record progress of a running attempt; False if the attempt is stale."""
        ...

    def job_cancel(
        self, job_id: str, *, tenant: str | None = None, now: datetime | None = None
    ) -> Job:
        """Cancel a waiting job at once, or ask a running one to stop; Conflict if finished."""
        ...

    def job_retry(
        self, job_id: str, *, tenant: str | None = None, now: datetime | None = None
    ) -> Job:
        """Queue a failed or cancelled job again, with one more attempt allowed."""
        ...

    def job_delete(self, job_id: str, *, tenant: str | None = None) -> None:
        """Delete a finished job and its events; Conflict if it has not finished."""
        ...

    def job_rescue(self, *, now: datetime | None = None) -> list[str]:
        """Requeue (or fail, when out of attempts) running jobs whose lease expired."""
        ...

    def job_rescue_worker(self, worker_id: str, *, now: datetime | None = None) -> list[str]:
        """Rescue every job held by a worker known to be dead, without waiting for its leases."""
        ...

    def job_promote(self, *, now: datetime | None = None) -> int:
        """Move scheduled jobs whose ``run_at`` has come to ``queued``."""
        ...

    def job_purge(self, finished_before: datetime) -> int:
        """Delete jobs (and their events) that finished before the given time."""
        ...

    def job_purge_batch(
        self, finished_before: datetime, *, limit: int = 1000
    ) -> list[tuple[str, str]]:
        """Delete up to ``limit`` jobs that finished before the given time, in one transaction;
        return their (tenant, id) pairs so the caller can delete their artifacts."""
        ...

    def job_insert_cached(
        self, job_id: str, job: NewJob, result: JSON, *, now: datetime | None = None
    ) -> tuple[Job, bool]:
        """Insert a job that is already ``succeeded`` with ``result`` (a result-cache hit), under
        an id the caller chose; with a unique key already held, return that job and False."""
        ...

    # --- jobs: reads ----------------------------------------------------------------------------
    def job_get(self, job_id: str, *, tenant: str | None = None) -> Job:
        """One job; NotFound if it does not exist or belongs to another tenant."""
        ...

    def job_list(self, flt: JobFilter) -> list[Job]:
        """Jobs matching the filter, newest first; ``flt.before`` continues a listing."""
        ...

    def job_events(self, job_id: str, *, after_seq: int = 0, limit: int = 1000) -> list[JobEvent]:
        """A job's events with ``seq`` greater than ``after_seq``, oldest first."""
        ...

    def job_events_for(
        self, job_ids: Sequence[str], *, after_seq: int = 0, limit: int = 1000
    ) -> list[JobEvent]:
        """Events of any of ``job_ids`` with ``seq`` greater than ``after_seq``, in ``seq`` order
        (one query for many jobs: the API's event hub fans them out to SSE streams)."""
        ...

    def job_events_last_seq(self) -> int:
        """The newest event's ``seq`` (0 without events): a cheap probe for whether any job
        changed, where notifications do not cover every event (PostgreSQL: finishes)."""
        ...

    def job_stats(self, *, tenant: str | None = None) -> Stats:
        """Job counts by queue and status."""
        ...

    def job_cancel_requested(self, job_ids: Sequence[str]) -> set[str]:
        """Which of these running jobs have been asked to stop."""
        ...

    def job_get_cached(
        self, cache_key: str, finished_after: datetime, *, tenant: str = "default"
    ) -> Job | None:
        """The newest succeeded job of ``tenant`` with this cache key that finished after the
        given time, or None."""
        ...

    # --- templates ------------------------------------------------------------------------------
    def template_put(
        self, template: NewTemplate, *, now: datetime | None = None
    ) -> tuple[Template, bool]:
        """Store a new version of a template (version = latest + 1); if the latest version has
        the same ``sha256``, store nothing and return it with False."""
        ...

    def template_get(
        self,
        name: str,
        version: int | None = None,
        *,
        tenant: str = "default",
        with_bundle: bool = True,
    ) -> Template:
        """One version of a template (the latest without ``version``); NotFound if missing."""
        ...

    def template_list(self, *, tenant: str = "default") -> list[Template]:
        """The latest version of each of a tenant's templates (without bundles), by name."""
        ...

    # --- workers and coordination ---------------------------------------------------------------
    def worker_upsert(self, info: WorkerInfo) -> None:
        """Register a worker or refresh its heartbeat and running jobs."""
        ...

    def worker_delete(self, worker_id: str) -> None:
        """Remove a worker's row (clean shutdown)."""
        ...

    def worker_list(self) -> list[WorkerInfo]:
        """Every registered worker, newest first."""
        ...

    def worker_prune(self, silent_since: datetime) -> list[str]:
        """Remove workers whose last heartbeat is older than ``silent_since``; return their ids."""
        ...

    def leader_attempt_elect(
        self, name: str, node_id: str, ttl_s: float, *, now: datetime | None = None
    ) -> bool:
        """Take or keep the named leadership for ``ttl_s``; True if ``node_id`` holds it."""
        ...

    def cron_enqueue(
        self, name: str, tick: datetime, job: NewJob, *, now: datetime | None = None
    ) -> bool:
        """Insert the job for one cron tick unless that tick was already enqueued."""
        ...

    def queue_limits_set(self, limits: QueueLimits) -> None:
        """Set (or clear, with all limits None) a queue's concurrency and rate limits."""
        ...

    def queue_limits_list(self) -> list[QueueLimits]:
        """Every queue that has limits."""
        ...

    # --- tenants, API keys, settings, idempotency -----------------------------------------------
    def key_insert(self, key: ApiKey) -> None:
        """Store a new API key (its prefix and hash); Conflict if the id or prefix is taken."""
        ...

    def key_get_by_prefix(self, prefix: str) -> ApiKey | None:
        """The key with this public prefix, revoked or not, or None."""
        ...

    def key_list(self, tenant: str | None = None) -> list[ApiKey]:
        """Every key (of one tenant, if given), oldest first."""
        ...

    def key_revoke(self, key_id: str, *, now: datetime | None = None) -> ApiKey:
        """Revoke a key, keeping the first revocation time; NotFound if there is none."""
        ...

    def key_touch(self, key_id: str, *, now: datetime | None = None) -> None:
        """Record when a key was last used."""
        ...

    def key_count_active(self) -> int:
        """How many keys are not revoked."""
        ...

    def tenant_ensure(
        self, name: str, webhook_secret: str, *, now: datetime | None = None
    ) -> Tenant:
        """The tenant ``name``, created with ``webhook_secret`` if it did not exist."""
        ...

    def tenant_get(self, name: str) -> Tenant:
        """One tenant; NotFound if it was never created."""
        ...

    def tenant_list(self) -> list[Tenant]:
        """Every tenant, by name."""
        ...

    def tenant_secret_set(self, name: str, webhook_secret: str) -> Tenant:
        """Replace a tenant's webhook signing secret; NotFound if there is no such tenant."""
        ...

    def setting_get_or_create(self, name: str, value: str, *, now: datetime | None = None) -> str:
        """A server-wide setting; ``value`` is stored first if there was none (the first
        writer wins, so every node agrees)."""
        ...

    def idempotency_get(self, tenant: str, key: str) -> IdempotencyRecord | None:
        """The record of a tenant's idempotency key, or None."""
        ...

    def idempotency_put(
        self,
        tenant: str,
        key: str,
        request_hash: str,
        job_id: str,
        *,
        now: datetime | None = None,
    ) -> IdempotencyRecord:
        """Record (tenant, key) → job unless already held; return the record that holds it
        (another request's, when that one inserted first)."""
        ...

    def idempotency_purge(self, created_before: datetime) -> int:
        """Delete idempotency records created before the cut-off; return how many."""
        ...

    def job_count_waiting(self, tenant: str, limit: int) -> int:
        """How many of a tenant's jobs are queued or scheduled, counting at most ``limit``
        (so the cost is bounded when the queue is deep)."""
        ...

    # --- webhooks -------------------------------------------------------------------------------
    def webhook_attach(
        self,
        job_id: str,
        tenant: str,
        url: str | None,
        secret: str | None,
        *,
        now: datetime | None = None,
    ) -> int:
        """Flag a job for webhooks and, with ``url``, give it its own (replacing one it had).
        When a flagged job ends, the database enqueues its webhook and its tenant's matching
        subscriptions in the same transaction; if it has already ended, they are enqueued now.
        Return how many were enqueued now; NotFound if no such job."""
        ...

    def webhook_subscription_add(self, sub: WebhookSubscription) -> None:
        """Store a tenant-level subscription (its events: types or ``["*"]``)."""
        ...

    def webhook_subscription_list(self, tenant: str) -> list[WebhookSubscription]:
        """A tenant's subscriptions, oldest first."""
        ...

    def webhook_subscription_delete(self, tenant: str, sub_id: str) -> None:
        """Delete a subscription; NotFound if the tenant has none with this id."""
        ...

    def webhook_delivery_claim(
        self, limit: int, lease_s: float, *, now: datetime | None = None
    ) -> list[WebhookDelivery]:
        """Take up to ``limit`` due pending deliveries, oldest due first, for one attempt each:
        ``attempt`` counts up (the fencing token) and they are not due again for ``lease_s``."""
        ...

    def webhook_delivery_record(
        self,
        delivery_id: str,
        attempt: int,
        *,
        status: DeliveryStatus,
        response_code: int | None = None,
        error: str | None = None,
        next_attempt_at: datetime | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Record an attempt's outcome (delivered, failed for good, or pending again at
        ``next_attempt_at``), fenced by attempt, and add it to the attempt log; False if the
        attempt is stale."""
        ...

    def webhook_attempt_list(self, tenant: str, delivery_id: str) -> list[WebhookAttempt]:
        """The logged attempts of a tenant's delivery, oldest first (empty if none or not
        the tenant's)."""
        ...

    def webhook_delivery_list(
        self, tenant: str, *, job_id: str | None = None, limit: int = 100
    ) -> list[WebhookDelivery]:
        """A tenant's deliveries (of one job, if given), newest first."""
        ...

    def webhook_delivery_purge(self, created_before: datetime) -> int:
        """Delete finished deliveries created before the cut-off and the webhooks of jobs that
        no longer exist; return how many deliveries were deleted."""
        ...

    # --- batches --------------------------------------------------------------------------------
    def batch_insert(
        self, batch_id: str, tenant: str, jobs: Sequence[NewJob], *, now: datetime | None = None
    ) -> list[str]:
        """Insert a batch and its jobs (no unique keys) in one transaction; return the jobs'
        ids in order."""
        ...

    def batch_get(self, tenant: str, batch_id: str) -> Batch:
        """A tenant's batch with its jobs counted by status (``gone`` for deleted ones);
        NotFound if the tenant has no such batch."""
        ...

    def batch_members(self, tenant: str, batch_id: str) -> list[BatchMember]:
        """A tenant's batch's jobs in submission order; NotFound if there is no such batch."""
        ...

    def batch_purge(self, created_before: datetime) -> int:
        """Delete batches (not their jobs) created before the cut-off; return how many."""
        ...

    def listener(self) -> Listener:
        """A new listener for wake-up hints."""
        ...
