"""Webhooks over HTTP: a job's webhook and a tenant subscription are delivered, signed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from starlette.testclient import TestClient

from pressroom.service import Pressroom
from pressroom.testing import run_inline
from pressroom.webhooks.delivery import Deliverer
from pressroom.webhooks.guard import AllowList
from pressroom.webhooks.signing import verify


@pytest.fixture
def received(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list[tuple[Any, bytes]]]]:
    """A webhook receiver on 127.0.0.1 (allowed through the guard for this test)."""
    seen: list[tuple[Any, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            seen.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    monkeypatch.setenv("PRESSROOM_WEBHOOK_ALLOW_HOSTS", "127.0.0.1/32")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", seen
    server.shutdown()
    server.server_close()


def _deliver(service: Pressroom) -> int:
    deliverer = Deliverer(service.store, allow=AllowList.parse("127.0.0.1/32"))
    try:
        return deliverer.run_once()
    finally:
        deliverer.close()


def test_job_webhook_is_delivered_signed_with_its_own_secret(
    client: TestClient, api_service: Pressroom, received: tuple[str, list[tuple[Any, bytes]]]
) -> None:
    """A job submitted with webhook {url, secret} is POSTed there when it ends; it verifies."""
    url, seen = received
    secret = "whsec_dGVzdC1zZWNyZXQtdGVzdC1zZWNyZXQ="
    job = client.post(
        "/v1/jobs", json={"task": "pressroom.noop", "webhook": {"url": url, "secret": secret}}
    ).json()
    run_inline(api_service.store)
    assert _deliver(api_service) == 1
    [(headers, body)] = seen
    verify(body, headers, secret)
    assert job["id"].encode() in body
    deliveries = client.get(f"/v1/jobs/{job['id']}/deliveries").json()["deliveries"]
    assert [d["status"] for d in deliveries] == ["delivered"]


def test_subscription_receives_the_tenants_jobs_until_removed(
    client: TestClient, api_service: Pressroom, received: tuple[str, list[tuple[Any, bytes]]]
) -> None:
    """A subscription gets matching jobs' events signed with the tenant secret; removed, none."""
    url, seen = received
    sub = client.post("/v1/webhooks", json={"url": url, "events": ["job.failed"]})
    assert sub.status_code == 201, sub.text
    assert [s["id"] for s in client.get("/v1/webhooks").json()["subscriptions"]] == [
        sub.json()["id"]
    ]
    api_service.webhooks._subscribed.clear()  # the test does not wait out the cache
    client.post("/v1/jobs", json={"task": "pressroom.noop"})
    client.post("/v1/jobs", json={"task": "pressroom.fail", "args": {"permanent": True}})
    run_inline(api_service.store)
    assert _deliver(api_service) == 1
    [(headers, body)] = seen
    verify(body, headers, client.get("/v1/webhooks/secret").json()["secret"])
    assert b"job.failed" in body
    assert client.delete(f"/v1/webhooks/{sub.json()['id']}").status_code == 204
    assert client.get("/v1/webhooks").json()["subscriptions"] == []


def test_subscription_to_a_private_address_is_refused(client: TestClient) -> None:
    """Subscribing a URL the guard refuses is a 422 problem and stores nothing."""
    refused = client.post("/v1/webhooks", json={"url": "http://10.0.0.1/hook"})
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert client.get("/v1/webhooks").json()["subscriptions"] == []
