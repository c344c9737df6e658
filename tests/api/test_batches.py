"""Batches over HTTP: many jobs in one request, their progress, and one zip of their documents."""

from __future__ import annotations

import io
import zipfile

from starlette.testclient import TestClient

from pressroom.service import Pressroom
from pressroom.testing import run_inline
from tests.api.conftest import INLINE_HTML


def _jobs(n: int) -> list[dict[str, object]]:
    return [
        {"template": INLINE_HTML, "data": {"name": f"N{i}"}, "format": "html"} for i in range(n)
    ]


def test_batch_runs_counts_progress_and_zips_its_documents(
    client: TestClient, api_service: Pressroom
) -> None:
    """A batch of three jobs is accepted at once; when they end, its zip holds three documents."""
    made = client.post("/v1/batches", json={"jobs": _jobs(3)})
    assert made.status_code == 202, made.text
    batch = made.json()
    assert batch["total"] == 3 and len(batch["jobs"]) == 3 and batch["done"] is False
    early = client.get(batch["links"]["zip"])
    assert early.status_code == 409
    assert early.headers["content-type"].startswith("application/problem+json")
    assert run_inline(api_service.store) == 3
    done = client.get(f"/v1/batches/{batch['id']}").json()
    assert done["done"] is True and done["progress"] == 100.0
    assert done["counts"].get("succeeded") == 3
    archive = client.get(batch["links"]["zip"])
    assert archive.status_code == 200
    assert archive.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zf:
        texts = [zf.read(name) for name in zf.namelist()]
    assert len(texts) == 3
    assert all(any(f"N{i}".encode() in t for t in texts) for i in range(3))


def test_a_bad_job_refuses_the_whole_batch(client: TestClient) -> None:
    """One invalid job answers 422 naming it, and none of the batch is stored."""
    jobs = [*_jobs(2), {"task": "no.such.task"}]
    refused = client.post("/v1/batches", json={"jobs": jobs})
    assert refused.status_code == 422
    assert "jobs[2]" in refused.json()["detail"]
    assert client.get("/v1/jobs").json()["jobs"] == []
    assert client.post("/v1/batches", json={"jobs": []}).status_code == 422


def test_batches_are_private_to_their_tenant(client: TestClient, api_service: Pressroom) -> None:
    """Another tenant's batch, and its zip, answer 404."""
    _, a = api_service.key_create("tenant-a")
    _, b = api_service.key_create("tenant-b")
    made = client.post(
        "/v1/batches", json={"jobs": _jobs(1)}, headers={"Authorization": f"Bearer {a}"}
    ).json()
    other = {"Authorization": f"Bearer {b}"}
    assert client.get(f"/v1/batches/{made['id']}", headers=other).status_code == 404
    assert client.get(f"/v1/batches/{made['id']}/zip", headers=other).status_code == 404
