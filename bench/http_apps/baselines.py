"""The endpoints POST /v1/jobs is compared with, each a uvicorn factory:

- ``accept_app``: validate the body, answer 202 (the ceiling of FastAPI on this machine);
- ``sqlite_app``: the same plus one INSERT into SQLite (WAL, synchronous=NORMAL);
- ``postgres_app``: the same plus one INSERT into PostgreSQL (psycopg, a small pool);
- ``rq_app``: the same plus an RQ enqueue into Redis (the prior systems' design).

Each insert runs in FastAPI's thread pool (a ``def`` route), as Pressroom's route does.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field


class Submit(BaseModel):
    """The body every endpoint takes."""

    task: str = Field(max_length=200)
    args: dict[str, Any] = Field(default_factory=dict)
    queue: str = "default"
    priority: int = 0


def _app() -> FastAPI:
    return FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


def accept_app() -> FastAPI:
    """Validate and answer 202."""
    app = _app()

    @app.post("/v1/jobs", status_code=202)
    async def submit(body: Submit) -> dict[str, Any]:
        return {"id": uuid.uuid4().hex, "status": "queued", "task": body.task}

    return app


def sqlite_app() -> FastAPI:
    """Validate, insert one row into SQLite, answer 202."""
    path = os.environ["BENCH_SQLITE_PATH"]
    local = threading.local()
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute(
        "CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, task TEXT, args TEXT, queue TEXT,"
        " priority INT, status TEXT, created_at REAL DEFAULT (unixepoch('subsec')))"
    )
    setup.close()

    def conn() -> sqlite3.Connection:
        c = getattr(local, "conn", None)
        if c is None:
            c = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5)
            c.execute("PRAGMA synchronous=NORMAL")
            local.conn = c
        return c

    app = _app()

    @app.post("/v1/jobs", status_code=202)
    def submit(body: Submit) -> dict[str, Any]:
        job_id = uuid.uuid4().hex
        conn().execute(
            "INSERT INTO jobs (id, task, args, queue, priority, status) VALUES (?,?,?,?,?,?)",
            (job_id, body.task, json.dumps(body.args), body.queue, body.priority, "queued"),
        )
        return {"id": job_id, "status": "queued", "task": body.task}

    return app


def postgres_app() -> FastAPI:
    """Validate, insert one row into PostgreSQL, answer 202."""
    from psycopg_pool import ConnectionPool

    pool = ConnectionPool(os.environ["BENCH_PG_URL"], min_size=4, max_size=16, open=True)
    with pool.connection() as c:
        c.execute(
            "CREATE TABLE IF NOT EXISTS bench_http_jobs (id TEXT PRIMARY KEY, task TEXT, args JSONB"
            ", queue TEXT, priority INT, status TEXT, created_at TIMESTAMPTZ DEFAULT now())"
        )
    app = _app()

    @app.post("/v1/jobs", status_code=202)
    def submit(body: Submit) -> dict[str, Any]:
        job_id = uuid.uuid4().hex
        with pool.connection() as c:
            c.execute(
                "INSERT INTO bench_http_jobs (id, task, args, queue, priority, status)"
                " VALUES (%s,%s,%s,%s,%s,%s)",
                (job_id, body.task, json.dumps(body.args), body.queue, body.priority, "queued"),
            )
        return {"id": job_id, "status": "queued", "task": body.task}

    return app


def noop() -> None:
    """The job RQ would run (never run here: no worker)."""


def rq_app() -> FastAPI:
    """Validate, enqueue into Redis with RQ, answer 202."""
    from redis import Redis
    from rq import Queue

    queue = Queue("bench-http", connection=Redis.from_url(os.environ["BENCH_REDIS_URL"]))
    app = _app()

    @app.post("/v1/jobs", status_code=202)
    def submit(body: Submit) -> dict[str, Any]:
        job = queue.enqueue("http_apps.baselines.noop", **body.args)
        return {"id": job.id, "status": "queued", "task": body.task}

    return app
