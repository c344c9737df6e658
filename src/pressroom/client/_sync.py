"""``Client``: the blocking Python client of the Pressroom HTTP API (over httpx)."""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

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

ProgressCallback = Callable[[RemoteJob | Progress], None]


class Client:
    """Talk to a Pressroom server: submit jobs, follow them, download their documents.

    ``base_url`` defaults to ``PRESSROOM_URL`` (else ``http://127.0.0.1:8000``) and ``api_key``
    to ``PRESSROOM_API_KEY``. Use it as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Open a connection pool to the server."""
        self.config = Config.resolve(base_url, api_key)
        self._http = httpx.Client(
            base_url=self.config.base_url,
            headers=self.config.headers(),
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self) -> Client:
        """Return the client."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the client."""
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self._http.request(method, path, **kwargs)
        raise_for_problem(response)
        return response

    # --- jobs -----------------------------------------------------------------------------------
    def submit(
        self,
        template: str | Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> RemoteJob:
        """Submit a job: a ``template`` with ``data``/``format``, or ``task=`` with ``args=``.

        Other keywords are the fields of ``POST /v1/jobs`` (queue, priority, delay_s, run_at,
        max_attempts, timeout_s, webhook, metadata, cache, options). ``idempotency_key`` makes
        a retried submit return the first job instead of making another.
        """
        headers = {"idempotency-key": idempotency_key} if idempotency_key else {}
        body = submit_body(template, **fields)
        return RemoteJob.from_json(
            self._call("POST", "/v1/jobs", json=body, headers=headers).json()
        )

    def get(self, job_id: str) -> RemoteJob:
        """The job's current state."""
        return RemoteJob.from_json(self._call("GET", f"/v1/jobs/{job_id}").json())

    def list(
        self,
        *,
        status: str | None = None,
        queue: str | None = None,
        template: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> JobPage:
        """One page of the caller's jobs, newest first; pass ``next_cursor`` for the next one."""
        params = list_params(status, queue, template, cursor, limit)
        return job_page(self._call("GET", "/v1/jobs", params=params).json())

    def iter_jobs(self, **filters: Any) -> Iterator[RemoteJob]:
        """Every job matching ``filters`` (as :meth:`list` takes them), page after page."""
        cursor: str | None = None
        while True:
            page = self.list(cursor=cursor, **filters)
            yield from page.jobs
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def cancel(self, job_id: str) -> RemoteJob:
        """Cancel a job: a waiting job at once, a running one within seconds."""
        return RemoteJob.from_json(self._call("POST", f"/v1/jobs/{job_id}/cancel").json())

    def retry(self, job_id: str) -> RemoteJob:
        """Give a failed or cancelled job one more attempt."""
        return RemoteJob.from_json(self._call("POST", f"/v1/jobs/{job_id}/retry").json())

    def delete(self, job_id: str) -> None:
        """Delete a finished job and its document."""
        self._call("DELETE", f"/v1/jobs/{job_id}")

    def events(self, job_id: str, *, last_event_id: str | None = None) -> Iterator[Event]:
        """The job's events as they happen (Server-Sent Events), until its terminal status.

        A dropped connection is resumed from the last event seen, so none is lost or repeated.
        """
        parser = EventParser()
        parser.last_event_id = last_event_id
        while True:
            headers = {"accept": "text/event-stream"}
            if parser.last_event_id:
                headers["last-event-id"] = parser.last_event_id
            try:
                with self._http.stream(
                    "GET",
                    f"/v1/jobs/{job_id}/events",
                    headers=headers,
                    timeout=httpx.Timeout(10.0, read=60.0),
                ) as response:
                    if response.status_code >= 400:
                        response.read()
                        raise_for_problem(response)
                    for event in parser.feed(response.iter_lines()):
                        yield event
                        if is_terminal_event(event.event, event.data):
                            return
                # The server closed the stream without a terminal event: resume.
            except (httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError):
                pass

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
        raise_on_failure: bool = False,
        poll_interval: float = 2.0,
    ) -> RemoteJob:
        """Block until the job ends; return it. ``on_progress`` gets each progress update.

        Follows the job's event stream; falls back to polling every ``poll_interval`` seconds if
        the stream cannot be read. Raises TimeoutError after ``timeout`` seconds and, with
        ``raise_on_failure``, JobFailed when the job failed or was cancelled.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        job = self.get(job_id)
        while not job.done:
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} still {job.status} after {timeout} s")
            try:
                for event in self.events(job_id):
                    if on_progress and event.event == "progress" and isinstance(event.data, dict):
                        on_progress(
                            Progress(
                                float(event.data.get("percent") or 0.0), event.data.get("message")
                            )
                        )
                    if deadline is not None and time.monotonic() >= deadline:
                        break
            except httpx.TransportError:
                time.sleep(poll_interval)
            job = self.get(job_id)
        if on_progress:
            on_progress(job)
        if raise_on_failure and not job.succeeded:
            raise JobFailed(job)
        return job

    def download(self, job_id: str, dest: str | Path | IO[bytes] | None = None) -> bytes | Path:
        """The job's document: its bytes, or written to ``dest`` (a path or a binary file)."""
        with self._http.stream("GET", f"/v1/jobs/{job_id}/result") as response:
            if response.status_code >= 400:
                response.read()
                raise_for_problem(response)
            if dest is None:
                data: bytes = response.read()
                return data
            if isinstance(dest, str | Path):
                path = Path(dest)
                with path.open("wb") as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
                return path
            for chunk in response.iter_bytes():
                dest.write(chunk)
            return b""

    # --- templates and operations ---------------------------------------------------------------
    def templates(self) -> builtins.list[RemoteTemplate]:
        """The caller's stored templates."""
        body = self._call("GET", "/v1/templates").json()
        items = body.get("templates", []) if isinstance(body, dict) else body
        return [RemoteTemplate.from_json(t) for t in items]

    def template(self, name: str) -> dict[str, Any]:
        """A stored template with its versions."""
        result: dict[str, Any] = self._call("GET", f"/v1/templates/{name}").json()
        return result

    def put_template(self, name: str, body: Mapping[str, Any]) -> RemoteTemplate:
        """Store a new version of template ``name`` (the body of ``PUT /v1/templates/{name}``)."""
        response = self._call("PUT", f"/v1/templates/{name}", json=dict(body))
        return RemoteTemplate.from_json(response.json())

    def preview(
        self,
        template: str | Mapping[str, Any],
        data: Mapping[str, Any] | None = None,
        *,
        format: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> bytes:
        """Render now, without a job (for template authors); the document's bytes."""
        body = submit_body(template, data=data, format=format, options=options)
        return self._call("POST", "/v1/preview", json=body).content

    def workers(self) -> builtins.list[dict[str, Any]]:
        """The worker nodes, their heartbeats and running jobs."""
        body = self._call("GET", "/v1/workers").json()
        found: list[dict[str, Any]] = body.get("workers", []) if isinstance(body, dict) else body
        return found

    def stats(self) -> dict[str, Any]:
        """Counts of the caller's jobs by status and queue."""
        result: dict[str, Any] = self._call("GET", "/v1/stats").json()
        return result

    def health(self) -> bool:
        """Whether the server is ready (database reachable, schema current)."""
        return bool(self._http.get("/readyz").status_code == 200)
