"""Batches as the service offers them: submit many jobs at once, follow them as one, and
download their documents as one zip (streamed, never held in memory)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from pressroom.artifacts import ArtifactStore
from pressroom.artifacts._base import open_document, sanitize_filename
from pressroom.core.batches import MAX_BATCH_JOBS, Batch
from pressroom.core.errors import Conflict, InvalidInput
from pressroom.core.ids import new_id
from pressroom.core.models import JobStatus, NewJob

if TYPE_CHECKING:
    from pressroom.service import Pressroom

_CHUNK = 1 << 16


def batch_submit(svc: Pressroom, tenant: str, jobs: Sequence[NewJob]) -> Batch:
    """Insert 1-1000 built jobs of ``tenant`` (see :meth:`Pressroom.build_job`) as one batch,
    in one transaction; TooBusy over the tenant's queue cap, InvalidInput for a bad list."""
    if not 1 <= len(jobs) <= MAX_BATCH_JOBS:
        raise InvalidInput(f"a batch has 1-{MAX_BATCH_JOBS} jobs")
    if any(job.tenant != tenant for job in jobs):
        raise InvalidInput("every job of a batch belongs to the batch's tenant")
    if any(job.unique_key for job in jobs):
        raise InvalidInput("jobs in a batch cannot have unique keys")
    svc.check_queue_cap(tenant, adding=len(jobs))
    batch_id = new_id()
    now = svc.clock.now()
    ids = svc.store.batch_insert(batch_id, tenant, jobs, now=now)
    if svc.webhooks.has_subscriptions(tenant):
        for job_id in ids:
            svc.store.webhook_attach(job_id, tenant, None, None, now=now)
    return svc.store.batch_get(tenant, batch_id)


class _Sink(io.RawIOBase):
    """A write-only, unseekable stream whose bytes are taken out as they come."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._parts.append(bytes(data))
        return len(data)

    def drain(self) -> Iterator[bytes]:
        """The bytes written since the last drain, as one chunk (if any)."""
        if self._parts:
            out, self._parts = b"".join(self._parts), []
            yield out


def batch_zip(
    store_members: Sequence[tuple[int, str, object]],
    artifacts: ArtifactStore,
) -> Iterator[bytes]:
    """Zip the documents of (position, job id, result) members, streaming; entries are
    named ``0001-<filename>`` by position so equal file names do not clash."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as zf:
        for position, job_id, result in store_members:
            if not isinstance(result, dict) or not isinstance(result.get("key"), str):
                continue
            filename = str(result.get("filename") or job_id)
            stem, _, ext = filename.rpartition(".")
            name = f"{position + 1:04d}-{sanitize_filename(stem or filename, ext or 'bin')}"
            try:
                source = open_document(artifacts, result)
            except FileNotFoundError:
                continue
            with source, zf.open(name, "w", force_zip64=True) as target:
                while chunk := source.read(_CHUNK):
                    target.write(chunk)
                    yield from sink.drain()
            yield from sink.drain()
    yield from sink.drain()


def batch_documents(svc: Pressroom, tenant: str, batch_id: str) -> Iterator[bytes]:
    """The zip of a finished batch's documents (succeeded jobs only), as a stream of chunks;
    NotFound if the tenant has no such batch, Conflict while jobs are still running."""
    batch = svc.store.batch_get(tenant, batch_id)
    if not batch.done:
        raise Conflict(f"batch {batch_id} has {batch.total - batch.finished} unfinished job(s)")
    members = [
        (m.position, m.job_id, m.result)
        for m in svc.store.batch_members(tenant, batch_id)
        if m.status == JobStatus.SUCCEEDED
    ]
    return batch_zip(members, svc.artifacts)
