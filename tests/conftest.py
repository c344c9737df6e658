"""Fixtures shared by every test tier: stores on real SQLite files and a real PostgreSQL server.

PostgreSQL comes from ``PRESSROOM_TEST_POSTGRES_URL`` (default: the local server's ``test``
database). Each test session gets its own database, created fresh; each test starts from empty
tables. Without a server, PostgreSQL tests skip with the reason shown — except under ``CI=true``,
where they fail instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from pressroom.core.ports import Store
from pressroom.service import Pressroom
from pressroom.store import open_store
from pressroom.testing import WorkerProcess

PG_URL = os.environ.get("PRESSROOM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
STORE_KINDS = ("sqlite", "postgres", "memory")
ROOT = Path(__file__).resolve().parents[1]


def _with_db(url: str, db: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + db))


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session, dropped at the end."""
    try:
        import psycopg

        admin = psycopg.connect(PG_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server"
        reason = f"PostgreSQL not reachable at {PG_URL}: {exc}"
        if IN_CI:
            pytest.fail(f"{reason} (CI=true requires PostgreSQL)")
        pytest.skip(reason)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"pressroom_test_{worker}_{uuid.uuid4().hex[:8]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_db(PG_URL, name)
    store = open_store(url)
    store.migrate()
    store.close()
    try:
        yield url
    finally:
        # A fresh connection: a chaos test may have restarted the server meanwhile.
        with psycopg.connect(PG_URL, autocommit=True, connect_timeout=10) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def truncate_postgres(url: str) -> None:
    """Empty every Pressroom table in the database at ``url``."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename LIKE 'pressroom%%' AND tablename <> 'pressroom_schema_migrations'"
            )
        ]
        conn.execute("TRUNCATE " + ", ".join(tables))


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> str:
    """A URL for an empty, migrated store of the kind named by the test's parameter."""
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path}/pressroom.db"
        s = open_store(url)
        s.migrate()
        s.close()
        return url
    if kind == "postgres":
        url = str(request.getfixturevalue("pg_url"))
        truncate_postgres(url)
        return url
    return "memory://"


@pytest.fixture
def store(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> Iterator[Store]:
    """An empty, migrated store of each kind (parametrised by ``store_kind``)."""
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":
        s: Store = open_store(f"sqlite:///{tmp_path}/pressroom.db")
    elif kind == "postgres":
        url = str(request.getfixturevalue("pg_url"))
        truncate_postgres(url)
        s = open_store(url)
    else:
        s = open_store("memory://")
    s.migrate()
    yield s
    s.close()


def pytest_report_header(config: pytest.Config) -> str:
    """Say which PostgreSQL the suite uses, so a CI log shows that it ran."""
    return f"pressroom: PostgreSQL tests use {PG_URL} (CI={IN_CI})"


@pytest.fixture
def service(store_url: str) -> Iterator[Pressroom]:
    """A service over the test store, with the test tasks loaded."""
    from pressroom.core.tasks import load_task_modules

    load_task_modules(["tests.worker_tasks"])
    store: Store = open_store(store_url)
    yield Pressroom(store)
    store.close()


@pytest.fixture
def start_worker(store_url: str, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start ``pressroom worker`` subprocesses; every one is stopped after the test."""
    started: list[WorkerProcess] = []
    env = {
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "PRESSROOM_TASKS": "tests.worker_tasks",
    }

    def start(*args: str, tasks: str = "tests.worker_tasks") -> WorkerProcess:
        log = str(tmp_path / f"worker-{len(started)}.log")
        w = WorkerProcess(store_url, *args, env={**env, "PRESSROOM_TASKS": tasks}, log_path=log)
        started.append(w.start())
        return w

    yield start
    for w in started:
        w.stop(timeout=15)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3-compatible server (moto) on 127.0.0.1 for this test session; its URL."""
    pytest.importorskip("moto.server", reason="moto[server] is not installed")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


S3_TEST_ENV = {
    "PRESSROOM_S3_ACCESS_KEY_ID": "testing",
    "PRESSROOM_S3_SECRET_ACCESS_KEY": "testing",
    "PRESSROOM_S3_REGION": "us-east-1",
}
"""Credentials the moto server accepts (any will do); never real ones."""


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    """A new, empty bucket on the test S3 server; its name."""
    import boto3

    name = f"pressroom-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=name)
    return name
