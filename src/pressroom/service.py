"""The service object every adapter (CLI, HTTP API, dashboard) goes through.

It validates requests into :class:`~pressroom.core.models.NewJob` values, applies task defaults,
and forwards to the store. Render jobs, templates and artifacts go through it too (their checks
live in :mod:`pressroom.documents`). Nothing here knows about HTTP or a particular database.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from pressroom.artifacts import ArtifactStore, open_artifacts, open_document
from pressroom.core.accounts import ApiKey
from pressroom.core.batches import Batch
from pressroom.core.clock import Clock, SystemClock
from pressroom.core.errors import Conflict, InvalidInput, NotFound
from pressroom.core.limits import parse_rate
from pressroom.core.models import (
    Job,
    JobEvent,
    JobFilter,
    JobStatus,
    NewJob,
    NewTemplate,
    QueueLimits,
    Stats,
    Template,
    WorkerInfo,
)
from pressroom.core.ports import Store
from pressroom.core.tasks import Registry, registry
from pressroom.documents import batches
from pressroom.documents import templates as tpl
from pressroom.documents.retention import delete_job_artifacts, purge_finished
from pressroom.documents.submit import RenderPlan, load_renderer, plan_render, reuse_cached
from pressroom.documents.task import RENDER_TASK, render_bundle, resolve_template
from pressroom.renderers.base import Progress, Rendered, TemplateBundle, null_progress
from pressroom.security import idempotency as idem
from pressroom.security.access import Access
from pressroom.security.limits import QueueCap
from pressroom.store._common import job_from_new
from pressroom.webhooks.service import Webhooks
from pressroom.worker.config import validate_queue_name

log = logging.getLogger("pressroom.service")

MAX_PRIORITY = 1_000_000
MAX_ATTEMPTS = 100
MAX_DELAY_S = 366 * 86400.0


class Pressroom:
    """Submit, inspect and control jobs."""

    def __init__(
        self,
        store: Store,
        *,
        tasks: Registry | None = None,
        clock: Clock | None = None,
        artifacts: ArtifactStore | None = None,
    ) -> None:
        """Serve jobs from ``store`` with the tasks in ``tasks`` (default: the global registry).

        ``artifacts`` defaults to the store ``PRESSROOM_STORAGE_URL`` names, opened when needed.
        """
        self.store = store
        self.tasks = tasks or registry
        self.clock = clock or SystemClock()
        self._artifacts = artifacts
        self.access = Access(store, clock=self.clock)
        """Keys, tenants and secrets (:mod:`pressroom.security.access`)."""
        self.webhooks = Webhooks(store, clock=self.clock)
        """Webhook URLs, job webhooks and subscriptions (:mod:`pressroom.webhooks.service`)."""
        self.queue_cap = QueueCap(store)
        """The per-tenant waiting-job cap (:mod:`pressroom.security.limits`)."""
        """Webhook URLs, job webhooks and subscriptions (:mod:`pressroom.webhooks.service`)."""

    @property
    def artifacts(self) -> ArtifactStore:
        """Where documents are stored."""
        if self._artifacts is None:
            self._artifacts = open_artifacts(os.environ.get("PRESSROOM_STORAGE_URL") or None)
        return self._artifacts

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    # --- keys (the rest of access control: ``self.access``) --------------------------------------
    def key_create(
        self, tenant: str, *, admin: bool = False, name: str | None = None
    ) -> tuple[ApiKey, str]:
        """Create an API key for ``tenant``; return it and its secret (shown once)."""
        return self.access.key_create(tenant, admin=admin, name=name)

    def key_list(self, tenant: str | None = None) -> list[ApiKey]:
        """Every API key (of one tenant, if given), oldest first."""
        return self.access.key_list(tenant)

    def key_revoke(self, key_id: str) -> ApiKey:
        """Revoke an API key; NotFound if there is none."""
        return self.access.key_revoke(key_id)

    def authenticate(self, secret: str) -> ApiKey | None:
        """The active API key ``secret`` is, or None."""
        return self.access.authenticate(secret)

    def keys_configured(self) -> bool:
        """Whether any API key is active."""
        return self.access.keys_configured()

    def submit_idempotent(
        self,
        tenant: str,
        key: str,
        request_hash: str,
        submit: Callable[[str], tuple[Job, bool]],
    ) -> tuple[Job, bool]:
        """Submit once per (tenant, Idempotency-Key): ``submit(unique_key)`` submits with that
        unique key; a key reused with another ``request_hash`` raises IdempotencyMismatch
        (see :mod:`pressroom.security.idempotency`)."""
        return idem.submit_idempotent(
            self.store, tenant, key, request_hash, submit, now=self.clock.now()
        )

    def check_queue_cap(self, tenant: str, adding: int = 1) -> None:
        """Raise TooBusy (with ``retry_after_s``) if ``adding`` more jobs would put the
        tenant over ``PRESSROOM_TENANT_QUEUE_CAP`` waiting jobs."""
        self.queue_cap.check(tenant, adding)

    # --- submitting -----------------------------------------------------------------------------
    def build_job(
        self,
        task: str,
        args: Mapping[str, Any] | None = None,
        *,
        queue: str | None = None,
        priority: int | None = None,
        delay_s: float | None = None,
        run_at: datetime | None = None,
        max_attempts: int | None = None,
        timeout_s: float | None = None,
        unique_key: str | None = None,
        metadata: Mapping[str, str] | None = None,
        tenant: str = "default",
    ) -> NewJob:
        """Validate a submission and apply the task's defaults; raise InvalidInput if it is bad.

        A ``pressroom.render`` job's ``args`` are checked as :meth:`submit_render` checks them.
        """
        return self._build(
            task,
            args,
            queue=queue,
            priority=priority,
            delay_s=delay_s,
            run_at=run_at,
            max_attempts=max_attempts,
            timeout_s=timeout_s,
            unique_key=unique_key,
            metadata=metadata,
            tenant=tenant,
        )[0]

    def _build(
        self,
        task: str,
        args: Mapping[str, Any] | None,
        *,
        queue: str | None = None,
        priority: int | None = None,
        delay_s: float | None = None,
        run_at: datetime | None = None,
        max_attempts: int | None = None,
        timeout_s: float | None = None,
        unique_key: str | None = None,
        metadata: Mapping[str, str] | None = None,
        tenant: str = "default",
    ) -> tuple[NewJob, RenderPlan | None]:
        spec = self.tasks.get(task)
        if args is None:
            args = {}
        if not isinstance(args, Mapping):
            raise InvalidInput("args must be a JSON object of keyword arguments")
        args = dict(args)
        spec.check_args(args)
        plan = None
        if task == RENDER_TASK:
            if "tenant" in args:
                raise InvalidInput("'tenant' is set by the server, not in a job's args")
            plan = plan_render(self.store, tenant=tenant, **args)
            args = plan.args
        if delay_s is not None and run_at is not None:
            raise InvalidInput("give either delay_s or run_at, not both")
        if delay_s is not None:
            if not _finite(delay_s) or delay_s < 0 or delay_s > MAX_DELAY_S:
                raise InvalidInput(f"delay must be between 0 and {MAX_DELAY_S:.0f} seconds")
            run_at = self.clock.now() + timedelta(seconds=delay_s)
        if run_at is not None and run_at.tzinfo is None:
            raise InvalidInput("run_at must include a time zone (e.g. 2030-01-01T09:00:00Z)")
        if priority is not None and (not isinstance(priority, int) or abs(priority) > MAX_PRIORITY):
            raise InvalidInput(f"priority must be an integer within ±{MAX_PRIORITY}")
        if max_attempts is not None and not 1 <= max_attempts <= MAX_ATTEMPTS:
            raise InvalidInput(f"max_attempts must be between 1 and {MAX_ATTEMPTS}")
        if timeout_s is not None and (not _finite(timeout_s) or timeout_s <= 0):
            raise InvalidInput("timeout must be a positive number of seconds")
        if queue is not None:
            validate_queue_name(queue)
        if unique_key is not None and not 1 <= len(unique_key) <= 200:
            raise InvalidInput("unique key must be 1-200 characters")
        meta = dict(metadata or {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
            raise InvalidInput("metadata must map strings to strings")
        job = spec.new_job(
            args,
            queue=queue,
            priority=priority,
            run_at=run_at,
            max_attempts=max_attempts,
            timeout_s=timeout_s,
            unique_key=unique_key,
            metadata=meta,
            tenant=tenant,
        )
        return (job, None) if plan is None else (replace(job, cache_key=plan.cache_key), plan)

    def submit(
        self,
        task: str,
        args: Mapping[str, Any] | None = None,
        *,
        webhook: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> tuple[Job, bool]:
        """Submit one job; returns (job, created). With a live unique key: (that job, False).

        ``webhook`` (``{"url": …, "secret": …}``) is checked by the SSRF guard first; the job
        is then delivered when it ends (see :mod:`pressroom.webhooks.service`).

        A render job with ``cache`` whose identical result is recent is created already
        succeeded (see :mod:`pressroom.documents.submit`).
        """
        hook = self.webhooks.check_spec(webhook)
        job, plan = self._build(task, args, **options)
        now = self.clock.now()
        found: tuple[Job, bool] | None = None
        if plan is not None and plan.cache_ttl_s:
            found = reuse_cached(self.store, self.artifacts, job, plan.cache_ttl_s, now)
        if found is None:
            found = self.store.job_insert(job, now=now)
        if found[1]:
            self.webhooks.after_submit(found[0], hook)
        return found

    def submit_render(
        self,
        template: str | Mapping[str, Any],
        data: Mapping[str, Any] | None = None,
        *,
        format: str | None = None,
        options: Mapping[str, Any] | None = None,
        filename: str | None = None,
        engine: str | None = None,
        cache: bool | float | None = None,
        **job_options: Any,
    ) -> tuple[Job, bool]:
        """Submit a render job: ``template`` (a stored name, ``name@version`` or an inline
        ``{"engine", "source", "files"}``) filled with ``data`` into ``format``.

        Everything is checked first (unknown template or engine, a format or option the engine
        does not take → InvalidInput, nothing written). A named template is pinned to its
        current version. ``cache`` (``True``: a day, or a TTL in seconds) reuses an identical
        recent result. ``job_options`` are :meth:`submit`'s (queue, priority, tenant…).
        """
        args: dict[str, Any] = {"template": template, "data": data, "format": format}
        args |= {"options": options, "filename": filename, "engine": engine, "cache": cache}
        given = {k: v for k, v in args.items() if v is not None}
        return self.submit(RENDER_TASK, given, **job_options)

    def insert_built(self, jobs: Sequence[NewJob]) -> list[Job]:
        """Insert jobs made by :meth:`build_job` in one transaction and return them as stored
        (no unique keys; no result-cache lookup). The HTTP API groups concurrent submissions
        into one such call."""
        now = self.clock.now()
        ids = self.store.job_insert_many(list(jobs), now=now)
        return [job_from_new(job_id, job, now) for job_id, job in zip(ids, jobs, strict=True)]

    def submit_many(self, jobs: Iterable[NewJob]) -> list[str]:
        """Insert already-built jobs in one transaction; returns their ids."""
        return self.store.job_insert_many(list(jobs), now=self.clock.now())

    # --- batches ------------------------------------------------------------------------------
    def batch_submit(self, tenant: str, jobs: Sequence[NewJob]) -> Batch:
        """Submit 1-1000 jobs built with :meth:`build_job` (all of ``tenant``) as one batch,
        in one transaction; TooBusy over the tenant's queue cap."""
        return batches.batch_submit(self, tenant, jobs)

    def batch_get(self, tenant: str, batch_id: str) -> Batch:
        """A batch with its jobs counted by status and its progress; NotFound otherwise."""
        return self.store.batch_get(tenant, batch_id)

    def batch_zip(self, tenant: str, batch_id: str) -> Iterator[bytes]:
        """A finished batch's documents as one zip, streamed in chunks; Conflict while jobs
        run, NotFound if the tenant has no such batch."""
        return batches.batch_documents(self, tenant, batch_id)

    # --- reading --------------------------------------------------------------------------------
    def get(self, job_id: str, *, tenant: str | None = None) -> Job:
        """One job."""
        return self.store.job_get(job_id, tenant=tenant)

    def list_jobs(self, flt: JobFilter) -> list[Job]:
        """Jobs matching a filter, newest first."""
        if not 1 <= flt.limit <= 1000:
            raise InvalidInput("limit must be between 1 and 1000")
        return self.store.job_list(flt)

    def events(
        self, job_id: str, *, after_seq: int = 0, tenant: str | None = None
    ) -> list[JobEvent]:
        """A job's event log."""
        self.store.job_get(job_id, tenant=tenant)
        return self.store.job_events(job_id, after_seq=after_seq)

    def stats(self, *, tenant: str | None = None) -> Stats:
        """Counts by queue and status."""
        return self.store.job_stats(tenant=tenant)

    def workers(self) -> list[WorkerInfo]:
        """Registered worker nodes."""
        return self.store.worker_list()

    def wait(
        self,
        job_id: str,
        *,
        timeout_s: float | None = None,
        tenant: str | None = None,
        poll_s: float = 0.05,
    ) -> Job:
        """Block until the job is finished or ``timeout_s`` passes; return its latest state."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        delay = min(poll_s, 0.01)
        while True:
            job = self.store.job_get(job_id, tenant=tenant)
            if job.status.terminal or (deadline is not None and time.monotonic() >= deadline):
                return job
            time.sleep(delay)
            delay = min(delay * 1.5, max(poll_s, 0.5))

    # --- control --------------------------------------------------------------------------------
    def cancel(self, job_id: str, *, tenant: str | None = None) -> Job:
        """Cancel a waiting job or stop a running one."""
        return self.store.job_cancel(job_id, tenant=tenant, now=self.clock.now())

    def retry(self, job_id: str, *, tenant: str | None = None) -> Job:
        """Run a failed or cancelled job again."""
        return self.store.job_retry(job_id, tenant=tenant, now=self.clock.now())

    def delete(self, job_id: str, *, tenant: str | None = None) -> None:
        """Delete a finished job, its events and its artifacts."""
        job = self.store.job_get(job_id, tenant=tenant)
        self.store.job_delete(job_id, tenant=tenant)
        delete_job_artifacts(self.artifacts, job.tenant, job.id)

    def purge(self, older_than_s: float) -> int:
        """Delete jobs finished more than ``older_than_s`` seconds ago, with their artifacts."""
        if not _finite(older_than_s) or older_than_s < 0:
            raise InvalidInput("the age must be a non-negative number of seconds")
        cutoff = self.clock.now() - timedelta(seconds=older_than_s)
        return purge_finished(self.store, self.artifacts, cutoff)

    # --- documents and templates ----------------------------------------------------------------
    def open_result(self, job_id: str, *, tenant: str | None = None) -> tuple[Job, BinaryIO]:
        """A succeeded job and a stream of its document; Conflict while it has not succeeded,
        NotFound if it made no document or the document is gone."""
        job = self.store.job_get(job_id, tenant=tenant)
        if job.status != JobStatus.SUCCEEDED:
            raise Conflict(f"job {job_id} is {job.status.value}; only a succeeded job has a result")
        key = job.result.get("key") if isinstance(job.result, dict) else None
        if not isinstance(key, str) or not isinstance(job.result, dict):
            raise NotFound(f"job {job_id} produced no document")
        try:
            return job, open_document(self.artifacts, job.result)
        except FileNotFoundError:
            raise NotFound(f"the document of job {job_id} is no longer stored") from None

    def template_push(
        self, name: str, bundle: TemplateBundle, *, tenant: str = "default"
    ) -> tuple[Template, bool]:
        """Store ``bundle`` as the next version of template ``name``; (latest, False) when the
        content is the same as the latest version's."""
        tpl.check_name(name)
        renderer = load_renderer(bundle.engine)
        if not bundle.main.lower().endswith(tuple(renderer.accepts)):
            raise InvalidInput(
                f"engine {bundle.engine!r} does not take {bundle.main!r} as its main file"
            )
        new = NewTemplate(
            name=name,
            engine=bundle.engine,
            main=bundle.main,
            bundle=tpl.pack(bundle),
            sha256=tpl.bundle_digest(bundle),
            size=tpl.bundle_size(bundle),
            tenant=tenant,
        )
        return self.store.template_put(new, now=self.clock.now())

    def template_load_dir(
        self, folder: str | os.PathLike[str], *, tenant: str = "default"
    ) -> list[tuple[Template, bool]]:
        """Push each subfolder of ``folder`` as a template named after it (``data.json`` left
        out); folders without a template main file are skipped. All are checked before any is
        stored."""
        root = Path(folder)
        if not root.is_dir():
            raise InvalidInput(f"templates folder {str(root)!r} does not exist")
        bundles = []
        for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            try:
                bundles.append((sub.name, tpl.load_path(sub)))
            except InvalidInput as exc:
                if "main file" not in str(exc):
                    raise
                log.warning("skipped %s: it holds no template main file", sub)
        return [self.template_push(name, bundle, tenant=tenant) for name, bundle in bundles]

    def template_get(
        self, ref: str, *, tenant: str = "default", with_bundle: bool = False
    ) -> Template:
        """A stored template version by ``name`` (latest) or ``name@version``."""
        name, version = tpl.parse_ref(ref)
        return self.store.template_get(name, version, tenant=tenant, with_bundle=with_bundle)

    def templates(self, *, tenant: str = "default") -> list[Template]:
        """The latest version of each stored template."""
        return self.store.template_list(tenant=tenant)

    def render_now(
        self,
        template: str | Mapping[str, Any] | TemplateBundle,
        data: Mapping[str, Any] | None = None,
        *,
        format: str | None = None,
        options: Mapping[str, Any] | None = None,
        engine: str | None = None,
        tenant: str = "default",
        progress: Progress = null_progress,
    ) -> Rendered:
        """Render at once in this process, without a job (for template authors): the same checks
        and renderers as a render job, without the per-render CPU and memory budget."""
        bundle, args = self.prepare_render(
            template, data, format=format, options=options, engine=engine, tenant=tenant
        )
        return render_bundle(
            bundle, args["data"], args["format"], args["options"], progress, budget=False
        )

    def prepare_render(
        self,
        template: str | Mapping[str, Any] | TemplateBundle,
        data: Mapping[str, Any] | None = None,
        *,
        format: str | None = None,
        options: Mapping[str, Any] | None = None,
        engine: str | None = None,
        tenant: str = "default",
    ) -> tuple[TemplateBundle, dict[str, Any]]:
        """Check a render as :meth:`render_now` does and load its template: (bundle, args with
        ``data``, ``format`` and ``options``), ready for :func:`render_bundle` elsewhere (the
        API renders previews in a separate process)."""
        if isinstance(template, TemplateBundle):
            template = tpl.to_inline(template)
        plan = plan_render(
            self.store, template, data, format=format, options=options, engine=engine, tenant=tenant
        )
        bundle, _ = resolve_template(plan.args["template"], tenant, engine, self.store)
        return bundle, plan.args

    def set_queue_limits(
        self, queue: str, *, concurrency: int | None = None, rate: str | None = None
    ) -> QueueLimits:
        """Limit a queue's running jobs and/or its start rate (``"10/m"``); no limits clears."""
        validate_queue_name(queue)
        if concurrency is not None and concurrency < 1:
            raise InvalidInput("concurrency must be at least 1")
        count, period = parse_rate(rate) if rate else (None, None)
        limits = QueueLimits(queue, concurrency, count, period)
        self.store.queue_limits_set(limits)
        return limits

    def queue_limits(self) -> list[QueueLimits]:
        """Every queue with limits."""
        return self.store.queue_limits_list()


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


__all__ = ["JobStatus", "Pressroom"]
