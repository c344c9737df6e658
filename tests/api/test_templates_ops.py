"""Template routes, preview, and the operations routes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openapi_spec_validator import validate
from starlette.testclient import TestClient

from pressroom.api import ApiSettings, create_app
from pressroom.service import Pressroom
from pressroom.store import open_store
from tests.api.conftest import INLINE_HTML
from tests.api.test_problems import assert_problem


def test_put_list_show_templates_with_versions(client: TestClient) -> None:
    """PUT stores versions (201), the same content again stores nothing (200); GET shows them."""
    first = client.put("/v1/templates/greet", json=INLINE_HTML)
    assert first.status_code == 201 and first.json()["ref"] == "greet@1" and first.json()["created"]
    again = client.put("/v1/templates/greet", json=INLINE_HTML)
    assert again.status_code == 200 and not again.json()["created"]
    changed = {**INLINE_HTML, "files": {"logo.png": {"base64": "iVBORw0KGgo="}}}
    assert client.put("/v1/templates/greet", json=changed).json()["version"] == 2
    assert [t["ref"] for t in client.get("/v1/templates").json()["templates"]] == ["greet@2"]
    detail = client.get("/v1/templates/greet").json()
    assert detail["version"] == 2 and [v["version"] for v in detail["versions"]] == [2, 1]
    assert client.get("/v1/templates/greet@1").json()["version"] == 1
    assert_problem(client.get("/v1/templates/missing"), 404)
    assert_problem(client.put("/v1/templates/bad name", json=INLINE_HTML), 422)
    assert_problem(client.put("/v1/templates/x", json={"engine": "nope", "source": "x"}), 422)


def test_preview_renders_in_a_separate_process(client: TestClient) -> None:
    """POST /v1/preview returns the document inline; a template error is a 422 problem."""
    ok = client.post(
        "/v1/preview", json={"template": INLINE_HTML, "data": {"name": "Ada"}, "format": "html"}
    )
    assert ok.status_code == 200, ok.text
    assert "Hello Ada" in ok.text and ok.headers["content-disposition"].startswith("inline;")
    broken = {"engine": "html", "source": "{% if %}"}
    assert_problem(client.post("/v1/preview", json={"template": broken, "format": "html"}), 422)


def test_health_readiness_metrics_workers_stats(client: TestClient) -> None:
    """healthz and readyz answer, metrics count jobs by status and queue, stats and workers list."""
    client.post("/v1/jobs", json={"task": "pressroom.noop", "queue": "q1"})
    assert client.get("/healthz").json() == {"status": "ok", "schema_version": None}
    assert client.get("/readyz").json()["status"] == "ready"
    text = client.get("/metrics").text
    assert 'pressroom_jobs{queue="q1",status="queued"} 1.0' in text
    assert 'pressroom_queue_depth{queue="q1"} 1.0' in text
    assert "pressroom_http_requests_total" in text
    assert client.get("/v1/stats").json()["by_queue"] == {"q1": {"queued": 1}}
    assert client.get("/v1/workers").json() == {"workers": []}


def test_readyz_is_503_when_the_schema_is_not_current(
    tmp_path: Path, api_service: Pressroom
) -> None:
    """An unmigrated database makes readyz answer a 503 problem naming the fix."""
    store = open_store(f"sqlite:///{tmp_path}/empty.db")
    app = create_app(Pressroom(store))
    try:
        with TestClient(app, raise_server_exceptions=False) as c:
            body = assert_problem(c.get("/readyz"), 503)
            assert "pressroom migrate" in body["detail"]
    finally:
        app.state.api.close()
        store.close()


def test_openapi_document_is_valid_and_declares_problems(client: TestClient) -> None:
    """/openapi.json validates, and every operation declares problem+json for 422 and 500."""
    spec = client.get("/openapi.json").json()
    validate(spec)
    for path, item in spec["paths"].items():
        for method, op in item.items():
            for status in ("422", "500"):
                content = op["responses"][status]["content"]
                assert "application/problem+json" in content, (method, path, status)
    assert client.get("/docs").status_code == 200


def test_preview_over_budget_is_stopped_and_the_pool_recovers(make_app: Any) -> None:
    """A preview past its time budget is a 422 problem (its process is killed); the next one
    renders in a fresh process."""
    app = make_app(ApiSettings(preview_timeout_s=0.001))
    body = {"template": INLINE_HTML, "data": {"name": "Ada"}, "format": "pdf"}
    with TestClient(app, raise_server_exceptions=False) as c:
        slow = assert_problem(c.post("/v1/preview", json=body), 422)
        assert slow["type"].endswith("preview-timeout")
        app.state.api.preview.timeout_s = 60
        again = c.post("/v1/preview", json=body)
        assert again.status_code == 200 and again.content.startswith(b"%PDF")
