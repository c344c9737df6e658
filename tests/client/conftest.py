"""A real Pressroom HTTP server (uvicorn in a thread on 127.0.0.1) over SQLite, and a worker."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn

from pressroom.api import create_app
from pressroom.api.settings import ApiSettings
from pressroom.artifacts import open_artifacts
from pressroom.core.tasks import load_task_modules
from pressroom.service import Pressroom
from pressroom.store import open_store
from pressroom.testing import WorkerProcess, wait_until


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def server(
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    start_worker: Callable[..., WorkerProcess],
) -> Iterator[str]:
    """The base URL of a server on 127.0.0.1 with one worker process behind it."""
    storage = tmp_path / "artifacts"
    monkeypatch.setenv("PRESSROOM_STORAGE_URL", str(storage))
    load_task_modules(["tests.worker_tasks"])
    store = open_store(store_url)
    service = Pressroom(store, artifacts=open_artifacts(str(storage)))
    app = create_app(service, ApiSettings(sse_heartbeat_s=0.5))
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    wait_until(lambda: srv.started, timeout=20, message="server did not start")
    start_worker("-c", "1")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(20)
        store.close()
