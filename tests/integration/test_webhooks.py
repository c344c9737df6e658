"""Webhook deliveries over real HTTP to a listener on 127.0.0.1, from workers and in-process."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from pressroom.core.clock import FakeClock
from pressroom.core.models import JobStatus
from pressroom.core.webhooks import DeliveryStatus
from pressroom.service import Pressroom
from pressroom.store import open_store
from pressroom.testing import WorkerProcess, wait_until
from pressroom.webhooks.delivery import Deliverer
from pressroom.webhooks.guard import AllowList
from pressroom.webhooks.signing import verify

StartWorker = Callable[..., WorkerProcess]


@dataclass
class Receiver:
    """What the listener saw, and the status codes it answers with (then 204)."""

    url: str
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    seen: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An HTTP listener on 127.0.0.1 that records webhook requests."""
    box: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            rec = box[0]
            rec.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            code = rec.answers.pop(0) if rec.answers else 204
            self.send_response(code)
            if 300 <= code < 400:
                self.send_header("location", "/elsewhere")
            self.send_header("content-length", "0")
            self.end_headers()
            rec.seen.set()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box.append(Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook?src=test"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box[0]
    server.shutdown()
    server.server_close()


def test_worker_delivers_signed_webhook(
    service: Pressroom,
    start_worker: StartWorker,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A job with a webhook, run by a real worker, is delivered once, signed, verifiable."""
    monkeypatch.setenv("PRESSROOM_WEBHOOK_ALLOW_HOSTS", "127.0.0.1/32")
    start_worker("-c", "1")
    svc = service
    job, _ = svc.submit(
        "pressroom.noop", {}, tenant="acme", metadata={"order": "42"}, webhook={"url": receiver.url}
    )
    assert receiver.seen.wait(30), "no delivery arrived"
    [(headers, body)] = receiver.requests
    secret = svc.access.tenant_webhook_secret("acme")
    verify(body, headers, secret)
    assert headers["host"] == receiver.url.split("/")[2]
    sent = json.loads(body)
    assert sent["type"] == "job.succeeded" and sent["data"]["id"] == job.id
    assert sent["data"]["metadata"] == {"order": "42"} and sent["data"]["status"] == "succeeded"
    delivered = wait_until(
        lambda: [
            d for d in svc.webhooks.deliveries("acme") if d.status == DeliveryStatus.DELIVERED
        ],
        timeout=10,
        message="delivery recorded",
    )
    assert delivered[0].response_code == 204 and delivered[0].attempt == 1
    assert svc.get(job.id).status == JobStatus.SUCCEEDED


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_failing_receiver_is_retried_with_backoff(store_url: str, receiver: Receiver) -> None:
    """A 500 answer is recorded and retried after the backoff; the job's own secret signs."""
    clock = FakeClock()
    store = open_store(store_url)
    svc = Pressroom(store, clock=clock)
    receiver.answers[:] = [500, 503]
    job_secret = "whsec_" + "QUJD" * 8
    job, _ = svc.submit("pressroom.noop", {}, tenant="acme")
    store.job_cancel(job.id, tenant="acme", now=clock.now())
    svc.webhooks.allow = AllowList.parse("127.0.0.1/32")
    svc.webhooks.attach(job, receiver.url, job_secret)
    deliverer = Deliverer(store, clock=clock, allow=AllowList.parse("127.0.0.1/32"))
    assert deliverer.run_once() == 1
    [d] = svc.webhooks.deliveries("acme")
    assert (d.status, d.attempt, d.response_code, d.last_error) == (
        DeliveryStatus.PENDING,
        1,
        500,
        "HTTP 500",
    )
    assert 48 <= (d.next_attempt_at - clock.now()).total_seconds() <= 72
    assert deliverer.run_once() == 0
    clock.advance(73)
    assert deliverer.run_once() == 1
    clock.advance(400)
    assert deliverer.run_once() == 1
    [d] = svc.webhooks.deliveries("acme")
    assert (d.status, d.attempt, d.response_code) == (DeliveryStatus.DELIVERED, 3, 204)
    codes = [a.response_code for a in svc.webhooks.attempts("acme", d.id)]
    assert codes == [500, 503, 204]
    ids = {h["webhook-id"] for h, _ in receiver.requests}
    assert len(receiver.requests) == 3 and ids == {d.id}
    for headers, body in receiver.requests:
        verify(body, headers, job_secret)
        assert json.loads(body)["type"] == "job.cancelled"
    deliverer.close()
    store.close()


def test_sender_connects_to_pinned_address_with_original_host(receiver: Receiver) -> None:
    """A named host resolving to the listener is called at that address with its own Host."""
    from datetime import UTC, datetime

    from pressroom.core.webhooks import WebhookDelivery

    port = int(receiver.url.split(":")[2].split("/")[0])
    seen: list[str] = []

    def resolver(host: str, _port: int) -> list[str]:
        seen.append(host)
        return ["127.0.0.1"]

    store = open_store("memory://")
    deliverer = Deliverer(store, resolver=resolver, allow=AllowList.parse("hooks.test"))
    now = datetime.now(UTC)
    delivery = WebhookDelivery(
        "msg_pin",
        "acme",
        "job1",
        f"http://hooks.test:{port}/in?a=1",
        "job.succeeded",
        {"id": "job1"},
        DeliveryStatus.PENDING,
        1,
        now,
        now,
        secret="whsec_" + "QUJD" * 8,
    )
    result = deliverer.send(delivery)
    deliverer.close()
    assert result.ok and result.status_code == 204 and seen == ["hooks.test"]
    [(headers, body)] = receiver.requests
    assert headers["host"] == f"hooks.test:{port}"
    verify(body, headers, "whsec_" + "QUJD" * 8)
    assert json.loads(body)["data"] == {"id": "job1"}


def test_redirects_are_not_followed(receiver: Receiver) -> None:
    """A 3xx answer is a failed attempt; the sender does not follow it anywhere."""
    from datetime import UTC, datetime

    from pressroom.core.webhooks import WebhookDelivery

    receiver.answers[:] = [302]
    deliverer = Deliverer(open_store("memory://"), allow=AllowList.parse("127.0.0.1/32"))
    now = datetime.now(UTC)
    delivery = WebhookDelivery(
        "msg_r",
        "acme",
        "job1",
        receiver.url,
        "job.succeeded",
        {},
        DeliveryStatus.PENDING,
        1,
        now,
        now,
        secret="whsec_" + "QUJD" * 8,
    )
    result = deliverer.send(delivery)
    deliverer.close()
    assert (result.ok, result.status_code, result.error) == (False, 302, "HTTP 302")
    assert len(receiver.requests) == 1
