"""Fixtures for the HTTP API: a real app over a real store (SQLite by default, PostgreSQL where a
test is parametrised), in-process clients, and a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from starlette.testclient import TestClient

from pressroom.api import ApiSettings, create_app
from pressroom.artifacts import open_artifacts
from pressroom.core.tasks import load_task_modules
from pressroom.service import Pressroom
from pressroom.store import open_store
from pressroom.testing import wait_until

INLINE_HTML = {"engine": "html", "source": "<h1>Hello {{ name }}</h1>", "files": {}}

TEST_SETTINGS = ApiSettings(sse_heartbeat_s=0.3, sse_max_streams=3, preview_timeout_s=30)


@pytest.fixture
def api_service(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Pressroom]:
    """A service over the test store and an artifact folder (inline runs use both too)."""
    load_task_modules(["tests.worker_tasks"])
    storage = str(tmp_path / "artifacts")
    monkeypatch.setenv("PRESSROOM_DATABASE_URL", store_url)
    monkeypatch.setenv("PRESSROOM_STORAGE_URL", storage)
    store = open_store(store_url)
    service = Pressroom(store, artifacts=open_artifacts(storage))
    yield service
    store.close()


@pytest.fixture
def make_app(api_service: Pressroom) -> Iterator[Callable[..., FastAPI]]:
    """Build apps over the test service (closed after the test)."""
    apps: list[FastAPI] = []

    def make(settings: ApiSettings = TEST_SETTINGS) -> FastAPI:
        app = create_app(api_service, settings)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.state.api.close()


@pytest.fixture
def app(make_app: Callable[..., FastAPI]) -> FastAPI:
    """An app with the test settings."""
    return make_app()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An in-process client of ``app`` (errors come back as responses, never raised)."""
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_live(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn (asyncio loop) on 127.0.0.1 in a thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, loop="asyncio", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, message="uvicorn started")
        yield f"http://127.0.0.1:{port}"
    finally:
        app.state.api.hub.end_streams()
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture
def live_url(app: FastAPI) -> Iterator[str]:
    """``app`` served on 127.0.0.1; its base URL."""
    with serve_live(app) as url:
        yield url
