"""Job routes over a real store: submit, read, list with cursors, result, cancel, retry, delete."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from starlette.testclient import TestClient

from pressroom.api.routes_jobs import content_disposition
from pressroom.documents.templates import from_inline
from pressroom.service import Pressroom
from pressroom.testing import run_inline
from tests.api.conftest import INLINE_HTML
from tests.api.test_problems import assert_problem

BOTH_STORES = pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)


@BOTH_STORES
def test_submit_returns_202_location_and_the_job(client: TestClient) -> None:
    """POST /v1/jobs answers 202 with Location and the job JSON of the contract."""
    response = client.post(
        "/v1/jobs",
        json={
            "task": "pressroom.sleep",
            "args": {"seconds": 0},
            "priority": 7,
            "metadata": {"k": "v"},
        },
    )
    assert response.status_code == 202
    job = response.json()
    assert response.headers["location"] == f"/v1/jobs/{job['id']}" == job["links"]["self"]
    assert job["status"] == "queued" and job["priority"] == 7 and job["metadata"] == {"k": "v"}
    assert job["progress"] == {"percent": 0.0, "message": None}
    assert set(job["links"]) == {"self", "events", "result"}
    assert client.get(job["links"]["self"]).json()["id"] == job["id"]


@BOTH_STORES
def test_render_job_result_is_streamed_with_its_headers(
    client: TestClient, api_service: Pressroom
) -> None:
    """A document is 409 before success, then downloads with type, name, length and digest."""
    submitted = client.post(
        "/v1/jobs",
        json={
            "template": INLINE_HTML,
            "data": {"name": "Ada"},
            "format": "html",
            "options": {"filename": "hello wörld"},
        },
    ).json()
    assert submitted["template"] == "inline" and submitted["format"] == "html"
    early = assert_problem(client.get(f"/v1/jobs/{submitted['id']}/result"), 409)
    assert "queued" in early["detail"]
    assert run_inline(api_service.store) == 1
    job = client.get(f"/v1/jobs/{submitted['id']}").json()
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result["download_url"] == job["links"]["result"]
    download = client.get(result["download_url"])
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/html")
    assert "Hello Ada" in download.text
    disposition = download.headers["content-disposition"]
    assert (
        disposition
        == "attachment; filename=\"hello_world.html\"; filename*=UTF-8''hello_world.html"
    )
    assert int(download.headers["content-length"]) == result["size"] == len(download.content)
    assert hashlib.sha256(download.content).hexdigest() == result["sha256"]


def test_content_disposition_keeps_a_unicode_name() -> None:
    """Non-ASCII file names get an ASCII fallback and the exact UTF-8 name (RFC 6266)."""
    value = content_disposition('ré"sumé.pdf')
    assert value == "attachment; filename=\"r__sum_.pdf\"; filename*=UTF-8''r%C3%A9%22sum%C3%A9.pdf"


def test_cursor_pagination_walks_every_job_once(client: TestClient) -> None:
    """Pages of 3 over 7 jobs give every job once, newest first, with Link headers."""
    ids = [client.post("/v1/jobs", json={"task": "pressroom.noop"}).json()["id"] for _ in range(7)]
    seen: list[str] = []
    url = "/v1/jobs?limit=3&task=pressroom.noop"
    pages = 0
    while url:
        response = client.get(url)
        page = response.json()
        seen += [j["id"] for j in page["jobs"]]
        pages += 1
        url = ""
        if page["next_cursor"]:
            assert 'rel="next"' in response.headers["link"]
            url = f"/v1/jobs?limit=3&task=pressroom.noop&cursor={page['next_cursor']}"
    assert seen == list(reversed(ids)) and pages in (3, 4)
    assert_problem(client.get("/v1/jobs?cursor=garbage!"), 422)


def test_list_filters_by_status_queue_and_template(
    client: TestClient, api_service: Pressroom
) -> None:
    """status, queue and template filters return only matching jobs."""
    api_service.template_push("greet", from_inline(INLINE_HTML))
    greet = client.post("/v1/jobs", json={"template": "greet", "format": "html"}).json()
    other = client.post("/v1/jobs", json={"task": "pressroom.noop", "queue": "slow"}).json()
    assert [j["id"] for j in client.get("/v1/jobs?template=greet").json()["jobs"]] == [greet["id"]]
    assert [j["id"] for j in client.get("/v1/jobs?template=greet@1").json()["jobs"]] == [
        greet["id"]
    ]
    assert client.get("/v1/jobs?template=greet@2").json()["jobs"] == []
    assert [j["id"] for j in client.get("/v1/jobs?queue=slow").json()["jobs"]] == [other["id"]]
    assert client.get("/v1/jobs?status=running").json()["jobs"] == []
    assert_problem(client.get("/v1/jobs?status=bogus"), 422)


def test_cancel_retry_delete(client: TestClient) -> None:
    """Cancel a queued job, retry it, and delete only once it has finished (409 before)."""
    job = client.post("/v1/jobs", json={"task": "pressroom.noop"}).json()
    assert_problem(client.delete(f"/v1/jobs/{job['id']}"), 409)
    cancelled = client.post(f"/v1/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert_problem(client.post(f"/v1/jobs/{job['id']}/cancel"), 409)
    retried = client.post(f"/v1/jobs/{job['id']}/retry").json()
    assert retried["status"] == "queued"
    client.post(f"/v1/jobs/{job['id']}/cancel")
    assert client.delete(f"/v1/jobs/{job['id']}").status_code == 204
    assert_problem(client.get(f"/v1/jobs/{job['id']}"), 404)


def test_webhook_is_kept_without_its_secret(client: TestClient, api_service: Pressroom) -> None:
    """A job's webhook URL shows in its JSON; the secret is never shown."""
    api_service.webhooks.resolver = lambda host, port: ["93.184.215.14"]  # no DNS in tests
    secret = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ="
    job = client.post(
        "/v1/jobs",
        json={
            "task": "pressroom.noop",
            "webhook": {"url": "https://example.com/h", "secret": secret},
        },
    ).json()
    assert job["webhook"] == {"url": "https://example.com/h"} and job["metadata"] == {}
    assert secret not in client.get(f"/v1/jobs/{job['id']}").text
    assert secret not in str(api_service.get(job["id"]).metadata)


@BOTH_STORES
def test_concurrent_submits_are_grouped_into_fewer_transactions(
    app: Any, api_service: Pressroom
) -> None:
    """Forty concurrent submits are all accepted and stored, in fewer transactions than jobs."""
    import asyncio

    import httpx

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            body = {"task": "pressroom.noop", "metadata": {"n": "x"}}
            return await asyncio.gather(*(client.post("/v1/jobs", json=body) for _ in range(40)))

    responses = asyncio.run(run())
    assert [r.status_code for r in responses] == [202] * 40
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 40
    assert all(api_service.get(i).status.value == "queued" for i in ids)
    assert 1 <= app.state.api.batcher.batches < 40
