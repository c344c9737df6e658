"""``AsyncClient``: the asyncio Python client of the Pressroom HTTP API (over httpx)."""

from __future__ import annotations

import asyncio
import builtins
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from pressroom.client._common import (
    Config,
    is_terminal_event,
    job_page,
    list_params,
    submit_body,
)
from pressroom.client._errors import JobFailed, raise_for_problem
from pressroom.client._models import JobPage, Progress, RemoteJob, RemoteTemplate
from pressroom.client._sse import Event, EventParser


class AsyncClient:
    """The asyncio twin of :class:`~pressroom.client.Client`: same methods, awaited."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """Open a connection pool to the server."""
        self.config = Config.resolve(base_url, api_key)
        self._http = httpx.AsyncClient(
            base_url=self.config.base_url,
            headers=self.config.headers(),
            timeout=timeout,
            transport=transport,
        )

    async def __aenter__(self) -> AsyncClient:
        """Return the client."""
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Close the client."""
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self._http.request(method, path, **kwargs)
        raise_for_problem(response)
        return response

    async def submit(
        self,
        template: str | Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> RemoteJob:
        """Submit a job (see :meth:`pressroom.client.Client.submit`)."""
        headers = {"idempotency-key": idempotency_key} if idempotency_key else {}
        body = submit_body(template, **fields)
        response = await self._call("POST", "/v1/jobs", json=body, headers=headers)
        return RemoteJob.from_json(response.json())

    async def get(self, job_id: str) -> RemoteJob:
        """The job's current state."""
        return RemoteJob.from_json((await self._call("GET", f"/v1/jobs/{job_id}")).json())

    async def list(
        self,
        *,
        status: str | None = None,
        queue: str | None = None,
        template: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> JobPage:
        """One page of the caller's jobs, newest first."""
        params = list_params(status, queue, template, cursor, limit)
        return job_page((await self._call("GET", "/v1/jobs", params=params)).json())

    async def cancel(self, job_id: str) -> RemoteJob:
        """Cancel a job."""
        response = await self._call("POST", f"/v1/jobs/{job_id}/cancel")
        return RemoteJob.from_json(response.json())

    async def retry(self, job_id: str) -> RemoteJob:
        """Give a failed or cancelled job one more attempt."""
        response = await self._call("POST", f"/v1/jobs/{job_id}/retry")
        return RemoteJob.from_json(response.json())

    async def delete(self, job_id: str) -> None:
        """Delete a finished job and its document."""
        await self._call("DELETE", f"/v1/jobs/{job_id}")

    async def events(
        self, job_id: str, *, last_event_id: str | None = None
    ) -> AsyncIterator[Event]:
        """The job's events as they happen, until its terminal status; resumes after a drop."""
        parser = EventParser()
        parser.last_event_id = last_event_id
        while True:
            headers = {"accept": "text/event-stream"}
            if parser.last_event_id:
                headers["last-event-id"] = parser.last_event_id
            try:
                async with self._http.stream(
                    "GET",
                    f"/v1/jobs/{job_id}/events",
                    headers=headers,
                    timeout=httpx.Timeout(10.0, read=60.0),
                ) as response:
                    if response.status_code >= 400:
                        await response.aread()
                        raise_for_problem(response)
                    async for line in response.aiter_lines():
                        event = parser.feed_line(line)
                        if event is None:
                            continue
                        yield event
                        if is_terminal_event(event.event, event.data):
                            return
            except (httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError):
                pass

    async def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        on_progress: Callable[[RemoteJob | Progress], None] | None = None,
        raise_on_failure: bool = False,
        poll_interval: float = 2.0,
    ) -> RemoteJob:
        """Wait until the job ends and return it (see :meth:`pressroom.client.Client.wait`)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        job = await self.get(job_id)
        while not job.done:
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} still {job.status} after {timeout} s")
            try:
                async for event in self.events(job_id):
                    if on_progress and event.event == "progress" and isinstance(event.data, dict):
                        on_progress(
                            Progress(
                                float(event.data.get("percent") or 0.0), event.data.get("message")
                            )
                        )
                    if deadline is not None and time.monotonic() >= deadline:
                        break
            except httpx.TransportError:
                await asyncio.sleep(poll_interval)
            job = await self.get(job_id)
        if on_progress:
            on_progress(job)
        if raise_on_failure and not job.succeeded:
            raise JobFailed(job)
        return job

    async def download(self, job_id: str, dest: str | Path | None = None) -> bytes | Path:
        """The job's document: its bytes, or written to the path ``dest``."""
        async with self._http.stream("GET", f"/v1/jobs/{job_id}/result") as response:
            if response.status_code >= 400:
                await response.aread()
                raise_for_problem(response)
            if dest is None:
                data: bytes = await response.aread()
                return data
            path = Path(dest)
            with path.open("wb") as out:
                async for chunk in response.aiter_bytes():
                    out.write(chunk)
            return path

    async def templates(self) -> builtins.list[RemoteTemplate]:
        """The caller's stored templates."""
        body = (await self._call("GET", "/v1/templates")).json()
        items = body.get("templates", []) if isinstance(body, dict) else body
        return [RemoteTemplate.from_json(t) for t in items]

    async def put_template(self, name: str, body: Mapping[str, Any]) -> RemoteTemplate:
        """Store a new version of template ``name``."""
        response = await self._call("PUT", f"/v1/templates/{name}", json=dict(body))
        return RemoteTemplate.from_json(response.json())
