"""Batches through the service: checks up front, and one streamed zip of the documents."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

import pressroom.builtin_tasks  # noqa: F401 - registers pressroom.noop
from pressroom.artifacts import open_artifacts
from pressroom.core.errors import Conflict, InvalidInput, NotFound, TooBusy
from pressroom.core.models import ClaimParams
from pressroom.core.retry import cancelled, success
from pressroom.service import Pressroom
from pressroom.store import open_store


@pytest.fixture
def svc(tmp_path: Path) -> Pressroom:
    """A service over a memory store and a local artifact folder."""
    return Pressroom(open_store("memory://"), artifacts=open_artifacts(str(tmp_path / "a")))


def test_batch_submit_checks(svc: Pressroom) -> None:
    """Empty, oversized, cross-tenant and over-cap batches are refused and store nothing."""
    job = svc.build_job("pressroom.noop", tenant="acme")
    with pytest.raises(InvalidInput):
        svc.batch_submit("acme", [])
    with pytest.raises(InvalidInput):
        svc.batch_submit("acme", [job] * 1001)
    with pytest.raises(InvalidInput):
        svc.batch_submit("beta", [job])
    svc.queue_cap.cap = 2
    with pytest.raises(TooBusy):
        svc.batch_submit("acme", [job] * 3)
    assert svc.store.job_count_waiting("acme", 10) == 0


def test_batch_zip_streams_succeeded_documents(svc: Pressroom) -> None:
    """The zip holds each succeeded job's document once, named by position; not before done."""
    jobs = [svc.build_job("pressroom.noop", tenant="acme") for _ in range(3)]
    batch = svc.batch_submit("acme", jobs)
    assert batch.total == 3 and batch.counts == {"queued": 3}
    with pytest.raises(Conflict):
        svc.batch_zip("acme", batch.id)
    with pytest.raises(NotFound):
        svc.batch_zip("beta", batch.id)
    members = svc.store.batch_members("acme", batch.id)
    claimed = {j.id: j for j in svc.store.job_claim(ClaimParams("w", ("default",), 3, 30))}
    outcomes = []
    for m in members:
        if m.position == 1:
            outcomes.append(cancelled(m.job_id, claimed[m.job_id].attempt))
            continue
        key = f"acme/{m.job_id}/1/report.pdf"
        svc.artifacts.put(key, f"document {m.position}".encode() * 1000)
        result = {"key": key, "filename": "report.pdf"}
        outcomes.append(success(m.job_id, claimed[m.job_id].attempt, result))
    svc.store.job_finish(outcomes)
    assert svc.batch_get("acme", batch.id).done
    chunks = list(svc.batch_zip("acme", batch.id))
    assert len(chunks) > 1
    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as zf:
        assert zf.namelist() == ["0001-report.pdf", "0003-report.pdf"]
        assert zf.read("0003-report.pdf") == b"document 2" * 1000
        assert zf.testzip() is None
