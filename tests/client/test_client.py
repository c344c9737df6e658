"""The Python client against a real server and worker: the flows a web back end uses."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from pressroom.client import ApiError, AsyncClient, Client, JobFailed, Progress, RemoteJob

ROOT = Path(__file__).resolve().parents[2]
INVOICE = ROOT / "examples" / "invoice"


def _inline_invoice() -> dict[str, object]:
    from pressroom.documents import templates as tpl

    return tpl.to_inline(tpl.load_path(INVOICE))


def test_submit_wait_with_progress_and_download(server: str, tmp_path: Path) -> None:
    """A render job submitted by the client succeeds; wait reports progress; the PDF downloads."""
    data = json.loads((INVOICE / "data.json").read_text())
    seen: list[object] = []
    with Client(server) as pr:
        job = pr.submit(_inline_invoice(), data=data, format="pdf")
        assert job.status in ("queued", "running")
        done = pr.wait(job.id, timeout=90, on_progress=seen.append, raise_on_failure=True)
        assert done.succeeded and done.result is not None
        assert done.result.content_type == "application/pdf"
        path = pr.download(job.id, tmp_path / "invoice.pdf")
    assert isinstance(path, Path) and path.read_bytes().startswith(b"%PDF")
    assert path.stat().st_size == done.result.size
    assert any(isinstance(s, Progress) for s in seen), "no progress event reached the callback"
    assert isinstance(seen[-1], RemoteJob) and seen[-1].succeeded


def test_events_follow_a_task_to_its_end_and_resume_without_repeats(server: str) -> None:
    """events() yields the job's events up to the terminal one; resuming repeats none."""
    with Client(server) as pr:
        job = pr.submit(task="pressroom.sleep", args={"seconds": 1})
        events = list(pr.events(job.id))
        assert events[-1].event == "status"
        assert events[-1].data["status"] == "succeeded"
        ids = [int(e.id) for e in events if e.id is not None]
        assert ids == sorted(set(ids))
        later = list(pr.events(job.id, last_event_id=str(ids[len(ids) // 2])))
        assert [int(e.id) for e in later if e.id] == ids[len(ids) // 2 + 1 :]


def test_failures_raise_with_the_servers_reason(server: str) -> None:
    """A failing job raises JobFailed with its error; an unknown job raises a 404 ApiError."""
    with Client(server) as pr:
        job = pr.submit(task="pressroom.fail", args={"message": "boom", "permanent": True})
        with pytest.raises(JobFailed) as failed:
            pr.wait(job.id, timeout=60, raise_on_failure=True)
        assert failed.value.job.error is not None and "boom" in failed.value.job.error.message
        with pytest.raises(ApiError) as missing:
            pr.get("no-such-job")
        assert missing.value.status == 404


def test_list_cancel_and_pages(server: str) -> None:
    """Listing pages through every job; cancelling a delayed job answers it cancelled."""
    with Client(server) as pr:
        ids = {pr.submit(task="pressroom.noop", delay_s=3600).id for _ in range(5)}
        seen = {j.id for j in pr.iter_jobs(limit=2)}
        assert ids <= seen
        cancelled = pr.cancel(next(iter(ids)))
        assert cancelled.status == "cancelled"


def test_async_client_submits_and_waits(server: str) -> None:
    """AsyncClient runs the same flow: ten concurrent submits, all succeed."""

    async def flow() -> list[RemoteJob]:
        async with AsyncClient(server) as pr:
            jobs = await asyncio.gather(*(pr.submit(task="pressroom.noop") for _ in range(10)))
            return list(await asyncio.gather(*(pr.wait(j.id, timeout=60) for j in jobs)))

    done = asyncio.run(flow())
    assert len({j.id for j in done}) == 10
    assert all(j.succeeded for j in done)
