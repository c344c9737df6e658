"""Render jobs in one process: checks at submission, pinned templates, errors, cache, retention."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from pressroom.artifacts import open_artifacts
from pressroom.artifacts.local import LocalArtifacts
from pressroom.core.errors import Conflict, InvalidInput, NotFound
from pressroom.core.models import JobFilter, JobStatus
from pressroom.documents.task import _ChildResources
from pressroom.renderers.base import TemplateBundle
from pressroom.service import Pressroom
from pressroom.store import open_store, survives_power_loss
from pressroom.testing import run_inline
from tests.integration._documents import EXAMPLES_DIR

GREETING = {"engine": "markdown", "source": "# Hello {{ name }}\n\nLine two.\n"}


@pytest.fixture
def docs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pressroom]:
    """A service over a fresh SQLite store and artifact folder, which inline runs also use."""
    url = f"sqlite:///{tmp_path}/p.db"
    storage = str(tmp_path / "artifacts")
    monkeypatch.setenv("PRESSROOM_DATABASE_URL", url)
    monkeypatch.setenv("PRESSROOM_STORAGE_URL", storage)
    store = open_store(url)
    store.migrate()
    yield Pressroom(store, artifacts=open_artifacts(storage))
    store.close()


def no_jobs(service: Pressroom) -> bool:
    """Whether the store holds no job at all."""
    return service.list_jobs(JobFilter()) == []


@pytest.mark.parametrize(
    ("template", "kwargs", "message"),
    [
        ("nope", {}, "unknown template 'nope'"),
        ("bad name!", {}, "invalid template name"),
        ({"engine": "latex", "source": "x"}, {}, "unknown engine 'latex'"),
        ({"source": "x"}, {}, 'needs "engine"'),
        (GREETING, {"format": "docx"}, "cannot make 'docx'"),
        (GREETING, {"options": {"colour": "red"}}, "unknown option(s) colour"),
        (GREETING, {"options": {"toc": "yes"}}, "option 'toc' must be bool"),
        (GREETING, {"engine": "typst"}, "does not take 'main.md'"),
        (GREETING, {"cache": -5}, "cache must be"),
        ({**GREETING, "files": {"../x.css": "a"}}, {}, "invalid file name"),
    ],
)
def test_bad_render_submissions_write_nothing(
    docs: Pressroom, template: object, kwargs: dict, message: str
) -> None:
    """Unknown templates, engines, formats and options are refused at submission."""
    with pytest.raises(InvalidInput) as caught:
        docs.submit_render(template, {"name": "x"}, **kwargs)  # type: ignore[arg-type]
    assert message in str(caught.value)
    assert no_jobs(docs)


def test_tenant_is_set_by_the_server(docs: Pressroom) -> None:
    """A render job's args cannot name a tenant; templates of another tenant are unknown."""
    with pytest.raises(InvalidInput, match="set by the server"):
        docs.submit("pressroom.render", {"template": GREETING, "tenant": "other"})
    docs.template_push("greet", TemplateBundle.inline("markdown", "# Hi"), tenant="acme")
    with pytest.raises(InvalidInput, match="unknown template"):
        docs.submit_render("greet", {})
    job, _ = docs.submit_render("greet", {}, tenant="acme")
    assert job.args["tenant"] == "acme" and job.args["template"] == "greet@1"
    assert no_jobs(docs) is False


def test_named_template_is_pinned_and_rendered(docs: Pressroom) -> None:
    """A job for a name renders the version that was latest when it was submitted."""
    docs.template_push("greet", TemplateBundle.inline("markdown", "# Version one {{ name }}"))
    job, _ = docs.submit_render("greet", {"name": "Ada"}, format="html", filename="hi.html")
    docs.template_push("greet", TemplateBundle.inline("markdown", "# Version two {{ name }}"))
    assert job.args["template"] == "greet@1"
    assert run_inline(docs.store) == 1
    done = docs.get(job.id)
    assert done.status == JobStatus.SUCCEEDED, done.error
    result = done.result
    assert result["filename"] == "hi.html" and result["content_type"].startswith("text/html")
    assert re.fullmatch(rf"default/{job.id}/1-[0-9a-f]{{8}}/hi\.html", result["key"])
    _, stream = docs.open_result(job.id)
    with stream:
        html = stream.read()
    assert b"Version one Ada" in html and len(html) == result["size"]
    progress = [e.data["percent"] for e in docs.events(job.id) if e.kind == "progress"]
    assert progress[0] == 1 and progress[-1] == 92 and progress == sorted(progress)


def test_template_error_fails_at_once_with_its_location(docs: Pressroom) -> None:
    """An undefined variable fails the job on its first attempt with engine, file and line."""
    template = {"engine": "html", "source": "<p>ok</p>\n<p>{{ customer.name }}</p>"}
    job, _ = docs.submit_render(template, {}, format="html", max_attempts=5)
    run_inline(docs.store)
    done = docs.get(job.id)
    assert done.status == JobStatus.FAILED and done.attempt == 1
    assert done.error is not None and done.error.type == "TemplateError"
    assert "html: index.html:2:" in done.error.message and "customer" in done.error.message
    with pytest.raises(Conflict):
        docs.open_result(job.id)


def test_cache_reuses_a_recent_identical_result(docs: Pressroom) -> None:
    """An identical job with cache is created succeeded from its own copy of the artifact."""
    first, _ = docs.submit_render(GREETING, {"name": "Ada"}, format="html", cache=True)
    assert first.cache_key is not None
    run_inline(docs.store)
    source = docs.get(first.id)
    hit, created = docs.submit_render(
        GREETING, {"name": "Ada"}, format="html", cache=60, filename="again.html"
    )
    assert created and hit.status == JobStatus.SUCCEEDED and hit.attempt == 0
    assert hit.result["cached_from"] == first.id and hit.result["filename"] == "again.html"
    assert hit.result["sha256"] == source.result["sha256"]
    miss, _ = docs.submit_render(GREETING, {"name": "Bob"}, format="html", cache=True)
    uncached, _ = docs.submit_render(GREETING, {"name": "Ada"}, format="html")
    assert miss.status == uncached.status == JobStatus.QUEUED
    docs.delete(first.id)
    _, stream = docs.open_result(hit.id)
    with stream:
        assert b"Hello Ada" in stream.read()


@pytest.mark.parametrize(
    ("database_url", "fsync"),
    [
        ("sqlite:///p.db", False),
        ("sqlite:///p.db?synchronous=normal", False),
        ("sqlite:///p.db?synchronous=FULL", True),
        ("postgresql://postgres@127.0.0.1:5432/test", True),
    ],
)
def test_documents_are_as_durable_as_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str, fsync: bool
) -> None:
    """A worker child flushes documents to disk only when the database's commits survive
    power loss (SQLite FULL, PostgreSQL); with SQLite's default NORMAL neither does."""
    monkeypatch.setenv("PRESSROOM_DATABASE_URL", database_url)
    monkeypatch.setenv("PRESSROOM_STORAGE_URL", str(tmp_path / "artifacts"))
    store = _ChildResources().artifacts()
    assert isinstance(store, LocalArtifacts) and store.fsync is fsync
    assert survives_power_loss(database_url) is fsync


def test_a_document_cut_short_counts_as_lost(docs: Pressroom) -> None:
    """A succeeded job whose document is shorter than its result says (a power loss after an
    unflushed write) answers NotFound, and the cache renders again instead of copying it."""
    job, _ = docs.submit_render(GREETING, {"name": "Ada"}, format="html", cache=True)
    run_inline(docs.store)
    done = docs.get(job.id)
    Path(docs.artifacts.url.removeprefix("file://"), *done.result["key"].split("/")).write_bytes(
        b"<h1>Hel"
    )
    with pytest.raises(NotFound, match="no longer stored"):
        docs.open_result(job.id)
    again, _ = docs.submit_render(GREETING, {"name": "Ada"}, format="html", cache=True)
    assert again.status == JobStatus.QUEUED


def test_delete_and_purge_remove_artifacts(docs: Pressroom) -> None:
    """Deleting or purging a job deletes its documents; a download then says so."""
    a, _ = docs.submit_render(GREETING, {"name": "A"}, format="html")
    b, _ = docs.submit_render(GREETING, {"name": "B"}, format="html")
    run_inline(docs.store)
    keys = [docs.get(j.id).result["key"] for j in (a, b)]
    assert all(docs.artifacts.exists(k) for k in keys)
    docs.delete(a.id)
    assert not docs.artifacts.exists(keys[0])
    assert docs.purge(0) == 1
    assert not docs.artifacts.exists(keys[1])
    with pytest.raises(NotFound):
        docs.open_result(b.id)


def test_templates_folder_loads_examples_once(docs: Pressroom) -> None:
    """Each example folder becomes a template; loading again adds no version."""
    loaded = docs.template_load_dir(EXAMPLES_DIR)
    names = sorted(t.name for t, created in loaded if created)
    assert names == ["deck", "invoice", "letter", "report", "resume", "sales"]
    assert all(not created for _, created in docs.template_load_dir(EXAMPLES_DIR))
    invoice = docs.template_get("invoice", with_bundle=True)
    assert invoice.engine == "html" and invoice.main == "index.html"
    assert [t.version for t in docs.templates()] == [1] * 6


def test_render_now_uses_stored_and_inline_templates(docs: Pressroom) -> None:
    """The synchronous render gives the same document as a job, without one."""
    docs.template_push("greet", TemplateBundle.inline("markdown", "# Hello {{ name }}"))
    stored = docs.render_now("greet", {"name": "Ada"}, format="html")
    inline = docs.render_now(GREETING, {"name": "Ada"}, format="html")
    assert b"Hello Ada" in stored.content and b"Hello Ada" in inline.content
    assert no_jobs(docs)


def test_render_budget_stops_runaway_cpu_and_memory_then_lifts() -> None:
    """Inside the budget a CPU hog fails as a LimitError and a huge allocation as MemoryError;
    after it, the process is unlimited again."""
    import resource
    import time

    from pressroom.documents.budget import render_budget
    from pressroom.renderers.errors import LimitError
    from pressroom.renderers.limits import RenderLimits

    before = (resource.getrlimit(resource.RLIMIT_CPU), resource.getrlimit(resource.RLIMIT_AS))
    deadline = time.monotonic() + 20

    def spin() -> None:
        with render_budget(RenderLimits(cpu_seconds=1), "html"):
            while time.monotonic() < deadline:
                sum(range(10_000))

    with pytest.raises(LimitError, match="CPU time"):
        spin()
    with pytest.raises(MemoryError), render_budget(RenderLimits(memory_bytes=1), "html"):
        bytearray(4 * 1024**3)
    assert (
        resource.getrlimit(resource.RLIMIT_CPU),
        resource.getrlimit(resource.RLIMIT_AS),
    ) == before
    with render_budget(RenderLimits(memory_bytes=1), "chromium"):
        assert resource.getrlimit(resource.RLIMIT_AS) == before[1]


def test_worker_purge_deletes_artifacts_in_the_background(docs: Pressroom) -> None:
    """The workers' hourly purge deletes old jobs at once and their documents soon after."""
    from datetime import timedelta

    from pressroom.core.clock import FakeClock
    from pressroom.core.models import utcnow
    from pressroom.core.tasks import registry
    from pressroom.testing import wait_until
    from pressroom.worker.maintenance import Maintenance

    job, _ = docs.submit_render(GREETING, {"name": "A"}, format="html")
    run_inline(docs.store)
    key = docs.get(job.id).result["key"]
    later = FakeClock(utcnow() + timedelta(days=2))
    duties = Maintenance(
        docs.store, "node", registry, retention_s=86400, artifacts=docs.artifacts, clock=later
    )
    duties.purge()
    with pytest.raises(NotFound):
        docs.get(job.id)
    wait_until(lambda: not docs.artifacts.exists(key), message="artifact deleted")
