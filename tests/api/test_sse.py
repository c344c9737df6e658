"""Server-Sent Events over a real uvicorn server: follow to the end, resume without loss or
repetition, heartbeats, the per-caller stream cap, and one database read per wake-up."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from pressroom.api import ApiSettings
from pressroom.core.models import ClaimParams
from pressroom.core.retry import success
from pressroom.service import Pressroom
from pressroom.testing import run_inline
from tests.api.conftest import serve_live

BOTH_STORES = pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)


def sse(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """Parse a text/event-stream: yields events ({id, event, data}) and comments ({comment})."""
    fields: dict[str, Any] = {}
    for line in response.iter_lines():
        if line.startswith(":"):
            yield {"comment": line[1:].strip()}
        elif line == "":
            if fields:
                yield {**fields, "data": json.loads(fields["data"])}
            fields = {}
        else:
            name, _, value = line.partition(": ")
            fields[name] = int(value) if name == "id" else value


def submit(base: str, **body: Any) -> dict[str, Any]:
    """Submit a job over HTTP; its JSON."""
    response = httpx.post(f"{base}/v1/jobs", json=body or {"task": "pressroom.noop"})
    assert response.status_code == 202, response.text
    return dict(response.json())


@BOTH_STORES
def test_follow_a_job_to_its_terminal_status(live_url: str, api_service: Pressroom) -> None:
    """A stream shows queued, running and succeeded with rising ids, then the server closes it."""
    job = submit(live_url)
    events = []
    with httpx.stream("GET", f"{live_url}{job['links']['events']}", timeout=30) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for item in sse(response):
            if "comment" in item:
                continue
            events.append(item)
            if len(events) == 1:
                threading.Thread(target=run_inline, args=(api_service.store,)).start()
    statuses = [e["data"]["status"] for e in events if e["event"] == "status"]
    assert statuses == ["queued", "running", "succeeded"]
    assert [e["id"] for e in events] == sorted({e["id"] for e in events})
    assert events[-1]["data"]["job"]["status"] == "succeeded"


@BOTH_STORES
def test_resume_loses_and_repeats_nothing(live_url: str, api_service: Pressroom) -> None:
    """Reconnecting with Last-Event-ID (header or query) continues exactly after that event."""
    store = api_service.store
    job = submit(live_url)
    (claimed,) = store.job_claim(ClaimParams("w", ("default",), 1, 60.0))
    store.job_progress(job["id"], 1, 10, "a")
    store.job_progress(job["id"], 1, 20, "b")
    url = f"{live_url}{job['links']['events']}"
    first: list[dict[str, Any]] = []
    with httpx.stream("GET", url, timeout=30) as response:
        for item in sse(response):
            if "id" in item:
                first.append(item)
                if item["data"].get("message") == "b":
                    break
    store.job_progress(job["id"], 1, 30, "c")
    store.job_progress(job["id"], 1, 40, "d")
    second: list[dict[str, Any]] = []
    headers = {"Last-Event-ID": str(first[-1]["id"])}
    with httpx.stream("GET", url, headers=headers, timeout=30) as response:
        for item in sse(response):
            if "id" not in item:
                continue
            second.append(item)
            if item["data"].get("message") == "d":
                store.job_progress(job["id"], 1, 50, "e")
                store.job_finish([success(job["id"], claimed.attempt, None)])
    log = [e.seq for e in api_service.events(job["id"])]
    assert [e["id"] for e in first + second] == log
    assert second[-1]["data"]["status"] == "succeeded"
    third = httpx.get(f"{url}?last_event_id={second[0]['id']}", timeout=30)
    replayed = [e["id"] for e in sse(third) if "id" in e]
    assert replayed == log[len(first) + 1 :]


def test_heartbeat_then_cancel_ends_the_stream(live_url: str) -> None:
    """An idle stream gets heartbeat comments; cancelling the job ends it with that status."""
    job = submit(live_url)
    seen: list[dict[str, Any]] = []
    with httpx.stream("GET", f"{live_url}{job['links']['events']}", timeout=30) as response:
        for item in sse(response):
            seen.append(item)
            if item.get("comment") == "heartbeat" and len([s for s in seen if "comment" in s]) == 2:
                assert httpx.post(f"{live_url}/v1/jobs/{job['id']}/cancel").status_code == 200
    assert seen[-1]["event"] == "status" and seen[-1]["data"]["status"] == "cancelled"


def test_stream_cap_per_caller(live_url: str) -> None:
    """Past the cap of open streams, a new one is a 429 problem; closing one frees a slot."""
    jobs = [submit(live_url) for _ in range(4)]

    async def run() -> None:
        async with httpx.AsyncClient(base_url=live_url, timeout=30) as client:
            opened = []
            for job in jobs[:3]:
                request = client.build_request("GET", job["links"]["events"])
                response = await client.send(request, stream=True)
                assert response.status_code == 200
                opened.append(response)
            refused = await client.get(jobs[3]["links"]["events"])
            assert refused.status_code == 429 and "retry-after" in refused.headers
            assert refused.headers["content-type"].startswith("application/problem+json")
            await opened[0].aclose()

            async def reopened() -> int:
                response = await client.send(
                    client.build_request("GET", jobs[3]["links"]["events"]), stream=True
                )
                await response.aclose()
                return response.status_code

            for _ in range(100):
                if await reopened() == 200:
                    break
                await asyncio.sleep(0.05)
            else:
                pytest.fail("a closed stream did not free its slot")
            for response in opened[1:]:
                await response.aclose()

    asyncio.run(run())


def test_each_signed_link_is_a_caller_of_its_own(api_service: Pressroom, live_url: str) -> None:
    """With keys in force, streams opened with one job's signed link count against that link,
    not against the tenant: a second job's link, and the key itself, still open streams."""
    api_service.key_create("tenant-a")  # keys in force: links are signed
    _, key = api_service.key_create("tenant-a")
    headers = {"Authorization": f"Bearer {key}"}
    jobs = []
    for _ in range(2):
        answer = httpx.post(f"{live_url}/v1/jobs", json={"task": "pressroom.noop"}, headers=headers)
        assert answer.status_code == 202, answer.text
        jobs.append(answer.json())
    first, second = (job["links"]["events"] for job in jobs)
    assert "sig=" in first and "sig=" in second

    async def run() -> None:
        async with httpx.AsyncClient(base_url=live_url, timeout=30) as client:

            async def open_stream(url: str, **kw: Any) -> httpx.Response:
                return await client.send(client.build_request("GET", url, **kw), stream=True)

            opened = [await open_stream(first) for _ in range(3)]
            try:
                assert [r.status_code for r in opened] == [200, 200, 200]
                refused = await open_stream(first)
                await refused.aclose()
                assert refused.status_code == 429
                for response in (
                    await open_stream(second),
                    await open_stream(f"/v1/jobs/{jobs[1]['id']}/events", headers=headers),
                ):
                    opened.append(response)
                    assert response.status_code == 200
            finally:
                for response in opened:
                    await response.aclose()

    asyncio.run(run())


def test_many_streams_share_database_reads(make_app: Any, api_service: Pressroom) -> None:
    """Thirty streams on thirty jobs finished at once end with far fewer reads than streams."""
    app = make_app(ApiSettings(sse_max_streams=100, sse_heartbeat_s=5))
    hub = app.state.api.hub
    with serve_live(app) as base:
        jobs = [submit(base) for _ in range(30)]
        claimed = api_service.store.job_claim(ClaimParams("w", ("default",), 30, 60.0))

        async def first_data(lines: AsyncIterator[str]) -> None:
            async for line in lines:
                if line.startswith("data:"):
                    return

        async def last_status(lines: AsyncIterator[str]) -> str:
            status = ""
            async for line in lines:
                if line.startswith("data:"):
                    status = json.loads(line[5:])["status"]
            return status

        async def run() -> list[str]:
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                requests = [client.build_request("GET", j["links"]["events"]) for j in jobs]
                responses = [await client.send(r, stream=True) for r in requests]
                streams = [r.aiter_lines() for r in responses]
                for lines in streams:  # every stream has caught up (its first event arrived)
                    await first_data(lines)
                before = hub.fetches
                outcomes = [success(j.id, j.attempt, None) for j in claimed]
                await asyncio.to_thread(api_service.store.job_finish, outcomes)
                statuses = [await last_status(lines) for lines in streams]
                for response in responses:
                    await response.aclose()
                assert hub.fetches - before < 10
                return statuses

        assert asyncio.run(run()) == ["succeeded"] * 30
