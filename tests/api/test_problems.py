"""Every error is application/problem+json, and no client input yields a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from pressroom.api import ApiSettings
from pressroom.api.bind import check_bind
from pressroom.core.errors import InvalidInput
from pressroom.service import Pressroom
from tests.api.conftest import INLINE_HTML


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is a problem document with ``status``; its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:pressroom:problem:")
    assert isinstance(body["title"], str) and isinstance(body["detail"], str)
    return dict(body)


def test_unknown_route_and_wrong_method_are_problems(client: TestClient) -> None:
    """An unknown path answers a 404 problem; a wrong method a 405 problem whose Allow header
    lists every method of that path."""
    assert_problem(client.get("/v1/nothing-here"), 404)
    wrong = client.patch("/v1/jobs")
    assert_problem(wrong, 405)
    assert wrong.headers["allow"] == "GET, POST"
    assert client.post("/v1/jobs/x").headers["allow"] == "DELETE, GET"


def test_unknown_job_is_a_404_problem(client: TestClient) -> None:
    """A job id that does not exist answers 404 on every job route."""
    for method, path in [
        ("GET", "/v1/jobs/nope"),
        ("GET", "/v1/jobs/nope/result"),
        ("GET", "/v1/jobs/nope/events"),
        ("POST", "/v1/jobs/nope/cancel"),
        ("POST", "/v1/jobs/nope/retry"),
        ("DELETE", "/v1/jobs/nope"),
    ]:
        assert_problem(client.request(method, path), 404)


def test_malformed_json_and_wrong_media_type(client: TestClient) -> None:
    """Broken JSON is a 422 problem; a body that is not JSON by its media type is a 415."""
    headers = {"content-type": "application/json"}
    assert_problem(client.post("/v1/jobs", content=b"{not json", headers=headers), 422)
    plain = {"content-type": "text/plain"}
    assert_problem(
        client.post("/v1/jobs", content=b'{"task": "pressroom.noop"}', headers=plain), 415
    )


def test_validation_errors_list_what_is_wrong(client: TestClient) -> None:
    """A body that fails validation is a 422 problem with a cleaned list of errors."""
    body = assert_problem(client.post("/v1/jobs", json={"task": 5, "priority": "high"}), 422)
    assert {tuple(e["loc"]) for e in body["errors"]} >= {("body", "task"), ("body", "priority")}


HOSTILE_BODIES = [
    b'{"task": "pressroom.noop", "priority": NaN}',
    b'{"task": "pressroom.noop", "delay_s": Infinity}',
    b'{"task": "pressroom.noop", "delay_s": 1e999}',
    b'{"task": "pressroom.noop", "timeout_s": -1e308}',
    b'{"task": "pressroom.noop", "priority": 1' + b"0" * 40 + b"}",
    b'{"task": "pressroom.noop", "priority": 1' + b"0" * 5000 + b"}",
    b'{"task": "pressroom.noop", "max_attempts": 100000000000000000000}',
    b'{"task": "pressroom.noop", "run_at": "2030-01-01T00:00:00"}',
    b'{"task": "pressroom.noop", "run_at": "99999-01-01T00:00:00Z"}',
    b'{"task": "pressroom.noop", "queue": "no spaces allowed"}',
    b'{"task": "pressroom.noop", "metadata": {"a": 1}}',
    b'{"task": "pressroom.noop", "metadata": {"pressroom:webhook.url": "x"}}',
    b'{"task": "no.such.task"}',
    b'{"task": "pressroom.noop", "args": {"unexpected": 1}}',
    b'{"task": "pressroom.noop", "template": "invoice"}',
    b'{"template": "missing-template"}',
    b'{"template": "bad name!"}',
    b'{"template": {"engine": "nope", "source": "x"}}',
    b'{"template": {"engine": "html", "source": {"base64": "***"}}}',
    b'{"template": {"engine": "html", "source": "x"}, "format": "exe"}',
    b'{"template": {"engine": "html", "source": "x"}, "options": {"bogus": 1}}',
    b'{"template": {"engine": "html", "source": "x"}, "cache": -5}',
    b"{}",
    b"[]",
    b"null",
    b'"\xff\xfe"',
    b"\xff\xfe\xfa",
    b'{"task": "\\ud800"}',
    b'{"task": "pressroom.noop", "metadata": {"a": "\\ud800"}}',
    b'{"task": "pressroom.noop", "metadata": {"a": "x\\u0000y"}}',
    b'{"template": {"engine": "html", "source": "x"}, "data": {"\\u0000": 1}}',
    b"[" * 100 + b"]" * 100,
    b"[" * 100_000 + b"]" * 100_000,
    b'{"task": "pressroom.noop", "args": ' + b'{"a": ' * 70 + b"1" + b"}" * 70 + b"}",
]


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
@pytest.mark.parametrize("body", HOSTILE_BODIES)
def test_hostile_bodies_are_client_errors(client: TestClient, body: bytes) -> None:
    """Odd numbers, bad encodings, deep nesting and bad references never produce a 5xx."""
    response = client.post("/v1/jobs", content=body, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500, response.text
    assert_problem(response, response.status_code)


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
@pytest.mark.parametrize(
    "url",
    [
        "/v1/jobs/a%00b",
        "/v1/jobs?queue=a%00b",
        "/v1/jobs?template=x%00",
        "/v1/jobs?limit=1e999",
        "/v1/jobs?limit=99999999999999999999999",
        "/v1/jobs/x/events?last_event_id=-1",
        "/v1/jobs/x/events?last_event_id=99999999999999999999999999",
        "/v1/templates/a%00b",
        "/v1/templates/x@99999999999999999999999",
    ],
)
def test_hostile_urls_are_client_errors(client: TestClient, url: str) -> None:
    """NUL, bad UTF-8 and huge numbers in paths and queries never produce a 5xx."""
    response = client.get(url)
    assert 400 <= response.status_code < 500, response.text
    assert_problem(response, response.status_code)


def test_json_item_cap(make_app: Any) -> None:
    """A body with more JSON values than the cap is a 422 problem."""
    with TestClient(make_app(ApiSettings(max_json_items=100)), raise_server_exceptions=False) as c:
        data = {"rows": list(range(500))}
        body = assert_problem(c.post("/v1/jobs", json={"template": INLINE_HTML, "data": data}), 422)
        assert "more than 100" in body["detail"]


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * min(size, total - sent)
        sent += size


def test_body_cap_by_header_and_by_chunks(make_app: Any) -> None:
    """Bodies over the cap answer 413, whether declared by Content-Length or streamed chunked."""
    with TestClient(make_app(ApiSettings(max_body_bytes=1000)), raise_server_exceptions=False) as c:
        big = b'{"task": "pressroom.noop", "metadata": {"x": "' + b"y" * 2000 + b'"}}'
        assert_problem(
            c.post("/v1/jobs", content=big, headers={"content-type": "application/json"}), 413
        )
        streamed = c.post(
            "/v1/jobs", content=_chunks(200_000), headers={"content-type": "application/json"}
        )
        assert "content-length" not in {k.lower() for k in streamed.request.headers}
        assert_problem(streamed, 413)
        small = c.post("/v1/jobs", json={"task": "pressroom.noop"})
        assert small.status_code == 202


def test_tenant_isolation_seam(client: TestClient, api_service: Pressroom) -> None:
    """A job of another tenant answers 404 on every route and is absent from lists and stats."""
    job, _ = api_service.submit("pressroom.noop", tenant="other")
    for method, path in [
        ("GET", f"/v1/jobs/{job.id}"),
        ("GET", f"/v1/jobs/{job.id}/result"),
        ("GET", f"/v1/jobs/{job.id}/events"),
        ("POST", f"/v1/jobs/{job.id}/cancel"),
        ("POST", f"/v1/jobs/{job.id}/retry"),
        ("DELETE", f"/v1/jobs/{job.id}"),
    ]:
        assert_problem(client.request(method, path), 404)
    assert client.get("/v1/jobs").json()["jobs"] == []
    assert sum(client.get("/v1/stats").json()["by_status"].values()) == 0
    assert api_service.get(job.id).status.value == "queued"


def test_check_bind_refuses_non_loopback_without_keys() -> None:
    """Loopback names and addresses pass; any other address needs keys or the override."""
    for host in ("127.0.0.1", "::1", "[::1]", "localhost", "127.0.0.2"):
        check_bind(host, keys_configured=False, override=False)
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.com"):
        with pytest.raises(InvalidInput, match="allow-unauthenticated"):
            check_bind(host, keys_configured=False, override=False)
        check_bind(host, keys_configured=True, override=False)
        check_bind(host, keys_configured=False, override=True)
