"""API keys, tenants, signed links, idempotency, rate limits, queue caps and webhook checks
over HTTP: what a caller without the right key or link can and cannot do."""

from __future__ import annotations

import itertools
import socket
import threading
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from pressroom.api import ApiSettings
from pressroom.security.limits import QueueCap
from pressroom.service import Pressroom
from pressroom.testing import run_inline
from tests.api.conftest import INLINE_HTML


def assert_problem(response: object, status: int) -> dict[str, object]:
    """The response is a problem document with ``status``."""
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["status"] == status and body["detail"]
    return body


@pytest.fixture
def keys(api_service: Pressroom) -> dict[str, str]:
    """Keys of two tenants (one admin key for tenant a)."""
    _, a = api_service.key_create("tenant-a")
    _, b = api_service.key_create("tenant-b")
    _, admin = api_service.key_create("tenant-a", admin=True)
    return {"a": a, "b": b, "admin": admin}


def auth(key: str) -> dict[str, str]:
    """The header that presents ``key``."""
    return {"Authorization": f"Bearer {key}"}


def test_once_a_key_exists_every_route_wants_one(client: TestClient, keys: dict[str, str]) -> None:
    """No key, a malformed key, a wrong key and a revoked key all answer 401 problems."""
    body = {"task": "pressroom.noop"}
    missing = client.post("/v1/jobs", json=body)
    assert_problem(missing, 401)
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert_problem(client.post("/v1/jobs", json=body, headers=auth("nonsense")), 401)
    assert_problem(client.get("/v1/jobs", headers={"Authorization": "Basic abc"}), 401)
    wrong = keys["a"][:-4] + ("AAAA" if not keys["a"].endswith("AAAA") else "BBBB")
    assert_problem(client.get("/v1/jobs", headers=auth(wrong)), 401)
    assert client.post("/v1/jobs", json=body, headers=auth(keys["a"])).status_code == 202
    assert client.get("/healthz").status_code == 200


def test_revoked_key_stops_working(
    make_app: Callable[..., FastAPI], api_service: Pressroom
) -> None:
    """A revoked key is refused (with no look-up cache, at once)."""
    key, secret = api_service.key_create("tenant-a")
    api_service.key_create("tenant-b")
    app = make_app(ApiSettings(auth_cache_s=0))
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.get("/v1/jobs", headers=auth(secret)).status_code == 200
        api_service.key_revoke(key.id)
        assert_problem(c.get("/v1/jobs", headers=auth(secret)), 401)


def test_tenants_never_see_each_others_jobs(
    client: TestClient, keys: dict[str, str], api_service: Pressroom
) -> None:
    """Another tenant's job answers 404 on every route, and is missing from lists and stats."""
    job = client.post(
        "/v1/jobs",
        json={"template": INLINE_HTML, "data": {"name": "A"}, "format": "html"},
        headers=auth(keys["a"]),
    ).json()
    run_inline(api_service.store)
    jid = job["id"]
    b = auth(keys["b"])
    assert_problem(client.get(f"/v1/jobs/{jid}", headers=b), 404)
    assert_problem(client.get(f"/v1/jobs/{jid}/events", headers=b), 404)
    assert_problem(client.get(f"/v1/jobs/{jid}/result", headers=b), 404)
    assert_problem(client.post(f"/v1/jobs/{jid}/cancel", headers=b), 404)
    assert_problem(client.post(f"/v1/jobs/{jid}/retry", headers=b), 404)
    assert_problem(client.delete(f"/v1/jobs/{jid}", headers=b), 404)
    assert client.get("/v1/jobs", headers=b).json()["jobs"] == []
    assert sum(client.get("/v1/stats", headers=b).json()["by_status"].values()) == 0
    mine = client.get(f"/v1/jobs/{jid}/result", headers=auth(keys["a"]))
    assert mine.status_code == 200 and b"Hello" in mine.content


def test_tenants_never_see_each_others_templates(client: TestClient, keys: dict[str, str]) -> None:
    """A template stored by one tenant is invisible to another, by name and in lists."""
    put = client.put("/v1/templates/secret-report", json=INLINE_HTML, headers=auth(keys["a"]))
    assert put.status_code in (200, 201), put.text
    b = auth(keys["b"])
    assert_problem(client.get("/v1/templates/secret-report", headers=b), 404)
    assert client.get("/v1/templates", headers=b).json()["templates"] == []
    submitted = client.post("/v1/jobs", json={"template": "secret-report", "data": {}}, headers=b)
    assert submitted.status_code in (404, 422)


def test_signed_links_open_events_and_result_without_the_key(
    client: TestClient, keys: dict[str, str], api_service: Pressroom
) -> None:
    """A job's events and result links work without a key; tampering with them is refused."""
    job = client.post(
        "/v1/jobs",
        json={"template": INLINE_HTML, "data": {"name": "L"}, "format": "html"},
        headers=auth(keys["a"]),
    ).json()
    run_inline(api_service.store)
    links = client.get(f"/v1/jobs/{job['id']}", headers=auth(keys["a"])).json()["links"]
    assert "sig=" in links["result"] and "sig=" in links["events"]
    assert "sig=" not in links["self"]
    result = client.get(links["result"])
    assert result.status_code == 200 and b"Hello" in result.content
    events = client.get(links["events"])
    assert events.status_code == 200 and "succeeded" in events.text
    parts = urlsplit(links["result"])
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    forged = {**query, "tenant": "tenant-b"}
    assert_problem(client.get(parts.path, params=forged), 401)
    other_path = parts.path.replace("/result", "")
    assert_problem(client.get(other_path, params=query), 401)


def test_links_are_plain_without_keys(client: TestClient) -> None:
    """With no keys configured the links carry no signature."""
    job = client.post("/v1/jobs", json={"task": "pressroom.noop"}).json()
    assert "sig=" not in job["links"]["events"]


def test_idempotency_key_returns_the_first_job_and_refuses_another_body(
    client: TestClient,
) -> None:
    """The same key and body give the same job; the same key with another body is a 422."""
    headers = {"Idempotency-Key": "order-42"}
    first = client.post("/v1/jobs", json={"task": "pressroom.noop"}, headers=headers)
    again = client.post("/v1/jobs", json={"task": "pressroom.noop"}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    other = client.post(
        "/v1/jobs", json={"task": "pressroom.sleep", "args": {"seconds": 1}}, headers=headers
    )
    assert_problem(other, 422)
    assert len(client.get("/v1/jobs").json()["jobs"]) == 1
    spaced = {"Idempotency-Key": "two words"}
    assert_problem(client.post("/v1/jobs", json={"task": "pressroom.noop"}, headers=spaced), 422)


def test_rate_limit_per_key_answers_429_with_retry_after(
    make_app: Callable[..., FastAPI], api_service: Pressroom
) -> None:
    """A key over its request budget gets 429 with Retry-After; another key is unaffected."""
    _, a = api_service.key_create("tenant-a")
    _, b = api_service.key_create("tenant-b")
    app = make_app(ApiSettings(rate_limit_per_s=0.01, rate_limit_burst=2))
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.get("/v1/jobs", headers=auth(a)).status_code == 200
        assert c.get("/v1/jobs", headers=auth(a)).status_code == 200
        limited = c.get("/v1/jobs", headers=auth(a))
        assert_problem(limited, 429)
        assert int(limited.headers["retry-after"]) >= 1
        assert c.get("/v1/jobs", headers=auth(b)).status_code == 200


def test_queue_cap_answers_429_and_stores_nothing(
    client: TestClient, api_service: Pressroom
) -> None:
    """Over the tenant's waiting-job cap a submit answers 429 with Retry-After."""
    ticks = itertools.count(0, 10.0)  # a clock that outruns the one-second count cache
    api_service.queue_cap = QueueCap(api_service.store, cap=2, clock=lambda: next(ticks))
    for _ in range(2):
        assert client.post("/v1/jobs", json={"task": "pressroom.noop"}).status_code == 202
    refused = client.post("/v1/jobs", json={"task": "pressroom.noop"})
    assert_problem(refused, 429)
    assert "retry-after" in refused.headers
    assert len(client.get("/v1/jobs").json()["jobs"]) == 2


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP listener on 127.0.0.1 that records every connection it accepts."""
    seen: list[bytes] = []
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            with conn:
                seen.append(conn.recv(1024))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield sock.getsockname()[1], seen
    stop.set()
    thread.join(5)
    sock.close()


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.1", "[::ffff:127.0.0.1]", "0x7f000001", "2130706433", "localhost"]
)
def test_webhooks_to_loopback_are_refused_before_any_request(
    client: TestClient, listener: tuple[int, list[bytes]], host: str
) -> None:
    """A webhook URL at a loopback address, in any spelling, is a 422 and stores no job; the
    listener there sees no connection."""
    port, seen = listener
    body = {"task": "pressroom.noop", "webhook": {"url": f"http://{host}:{port}/hook"}}
    assert_problem(client.post("/v1/jobs", json=body), 422)
    assert client.get("/v1/jobs").json()["jobs"] == []
    assert seen == []


def test_operations_need_an_admin_key(client: TestClient, keys: dict[str, str]) -> None:
    """Workers and metrics answer 403 to a tenant key and 200 to an admin key."""
    assert_problem(client.get("/v1/workers", headers=auth(keys["a"])), 403)
    assert_problem(client.get("/metrics", headers=auth(keys["a"])), 403)
    assert client.get("/v1/workers", headers=auth(keys["admin"])).status_code == 200
    assert client.get("/metrics", headers=auth(keys["admin"])).status_code == 200
