"""Render jobs through real worker processes: the examples, template errors, the cache and S3."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from pressroom.artifacts import ArtifactStore, open_artifacts
from pressroom.core.models import Job, JobStatus
from pressroom.service import Pressroom
from pressroom.testing import WorkerProcess, wait_until
from tests.conftest import S3_TEST_ENV
from tests.integration._documents import EXAMPLES, EXAMPLES_DIR, check_document, example_data

StartWorker = Callable[..., WorkerProcess]


def finished(service: Pressroom, job_id: str, timeout: float = 60.0) -> Job:
    """Wait for a job to reach a terminal status and return it."""
    return wait_until(
        lambda: (j := service.get(job_id)).status.terminal and j,
        timeout=timeout,
        message=f"job {job_id} finished",
    )


def render_examples(service: Pressroom, start_worker: StartWorker) -> dict[str, Job]:
    """Start a worker that loads the examples as templates, render each through a job."""
    start_worker("-c", "2", "--templates", str(EXAMPLES_DIR))
    wait_until(lambda: len(service.templates()) == len(EXAMPLES), timeout=30)
    jobs = {n: service.submit_render(n, example_data(n))[0] for n in EXAMPLES}
    return {n: finished(service, job.id) for n, job in jobs.items()}


def check_examples(done: dict[str, Job], artifacts: ArtifactStore) -> None:
    """Each job succeeded and its stored document is valid and holds the data."""
    for name, job in done.items():
        assert job.status == JobStatus.SUCCEEDED, (name, job.error)
        result = job.result
        assert re.fullmatch(
            rf"default/{job.id}/1-[0-9a-f]{{8}}/{result['filename']}", result["key"]
        )
        content = artifacts.read(result["key"])
        assert len(content) == result["size"]
        check_document(name, content, example_data(name))
    assert done["report"].result["page_count"] > 1


def test_examples_render_through_jobs(
    service: Pressroom, start_worker: StartWorker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each example, loaded with --templates, renders through a job to a valid document."""
    storage = str(tmp_path / "artifacts")
    monkeypatch.setenv("PRESSROOM_STORAGE_URL", storage)
    check_examples(render_examples(service, start_worker), open_artifacts(storage))


def test_template_error_fails_at_once_and_cache_reuses(
    service: Pressroom, start_worker: StartWorker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A template error fails on attempt 1 with its location; an identical cached job reuses
    the first one's document without running."""
    monkeypatch.setenv("PRESSROOM_STORAGE_URL", str(tmp_path / "artifacts"))
    start_worker("-c", "1")
    broken = {"engine": "markdown", "source": "# Title\n\n{{ missing.field }}\n"}
    bad, _ = service.submit_render(broken, {}, max_attempts=5)
    greeting = {"engine": "markdown", "source": "# Hello {{ name }}"}
    good, _ = service.submit_render(greeting, {"name": "Ada"}, format="html", cache=True)
    failed = finished(service, bad.id)
    assert failed.status == JobStatus.FAILED and failed.attempt == 1
    assert failed.error is not None and "markdown: main.md:3:" in failed.error.message
    assert finished(service, good.id).status == JobStatus.SUCCEEDED
    again, _ = service.submit_render(greeting, {"name": "Ada"}, format="html", cache=True)
    assert again.status == JobStatus.SUCCEEDED and again.result["cached_from"] == good.id
    _, stream = service.open_result(again.id)
    with stream:
        assert b"Hello Ada" in stream.read()


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_examples_round_trip_through_s3(
    service: Pressroom,
    start_worker: StartWorker,
    s3_endpoint: str,
    s3_bucket: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With s3:// storage the examples' documents go to the S3 server and come back intact."""
    env = {**S3_TEST_ENV, "PRESSROOM_S3_ENDPOINT_URL": s3_endpoint}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    url = f"s3://{s3_bucket}/docs"
    monkeypatch.setenv("PRESSROOM_STORAGE_URL", url)
    artifacts = open_artifacts(url, env)
    done = render_examples(service, start_worker)
    check_examples(done, artifacts)
    _, stream = service.open_result(done["invoice"].id)
    with stream:
        assert stream.read().startswith(b"%PDF-")
    service.delete(done["invoice"].id)
    assert not artifacts.exists(done["invoice"].result["key"])
