"""The built-in ``pressroom.render`` task: template + data → a document in the artifact store.

It runs in a worker child. The child keeps, per process: its renderers (warm fonts, browser),
a read-only store connection for templates (opened on the first named template, from
``PRESSROOM_DATABASE_URL`` which the supervisor passes to its children), the artifact store
(``PRESSROOM_STORAGE_URL``), and a small cache of template versions (a version never changes, so
a cached one is never stale). The child only reads templates and writes artifacts; job state is
written by the supervisor alone.

Progress: 1 % loading the template, 5-90 % rendering (the engine's own stages), 92 % storing.
The result is ``{"filename", "content_type", "size", "sha256", "page_count", "key"}``.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pressroom.artifacts import (
    DEFAULT_STORAGE_URL,
    ArtifactStore,
    artifact_key,
    open_artifacts,
    sanitize_filename,
)
from pressroom.core.errors import InvalidInput, NotFound, Permanent
from pressroom.core.ports import Store
from pressroom.core.tasks import JobContext, task
from pressroom.documents import templates as tpl
from pressroom.documents.budget import render_budget
from pressroom.renderers.base import Progress, Rendered, RenderRequest, TemplateBundle
from pressroom.renderers.registry import default_settings, get_renderer

RENDER_TASK = "pressroom.render"
DEFAULT_TIMEOUT_S = 600.0
"""A render job's default wall-clock limit per attempt (``timeout_s`` overrides it)."""
TEMPLATE_CACHE_SIZE = 32
"""Template versions each worker child keeps unpacked."""


def child_store_url(url: str) -> str:
    """The URL a worker child opens its read-only store with: for PostgreSQL, a pool of at most
    one connection, opened only when first needed (unless the URL sizes the pool itself)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        return url
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.setdefault("pool_min", "0")
    query.setdefault("pool_max", "1")
    return urlunsplit(parts._replace(query=urlencode(query)))


class _ChildResources:
    """What one process keeps across render jobs: a store, the artifact store, templates."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._store: tuple[str, Store] | None = None
        self._artifacts: tuple[tuple[str, str], ArtifactStore] | None = None
        self._templates: OrderedDict[tuple[str, str, str, int], TemplateBundle] = OrderedDict()

    def store(self) -> Store:
        """The store ``PRESSROOM_DATABASE_URL`` names (reopened if the variable changes)."""
        from pressroom.store import DEFAULT_DATABASE_URL, open_store

        url = os.environ.get("PRESSROOM_DATABASE_URL") or DEFAULT_DATABASE_URL
        if self._store is None or self._store[0] != url:
            if self._store is not None:
                self._store[1].close()
            self._store = (url, open_store(child_store_url(url)))
        return self._store[1]

    def artifacts(self) -> ArtifactStore:
        """The artifact store ``PRESSROOM_STORAGE_URL`` names (reopened if it or the database
        URL changes), as durable as the database: documents are flushed to disk only when
        its commits survive power loss."""
        from pressroom.store import DEFAULT_DATABASE_URL, survives_power_loss

        url = os.environ.get("PRESSROOM_STORAGE_URL") or DEFAULT_STORAGE_URL
        db_url = os.environ.get("PRESSROOM_DATABASE_URL") or DEFAULT_DATABASE_URL
        if self._artifacts is None or self._artifacts[0] != (url, db_url):
            fsync = survives_power_loss(db_url)
            self._artifacts = ((url, db_url), open_artifacts(url, fsync=fsync))
        return self._artifacts[1]

    def stored_bundle(self, tenant: str, name: str, version: int | None) -> TemplateBundle:
        """A stored template version, from this process's cache when it has it."""
        store = self.store()
        with self._lock:
            key = (store.url, tenant, name, version or 0)
            if version is not None and key in self._templates:
                self._templates.move_to_end(key)
                return self._templates[key]
        try:
            found = store.template_get(name, version, tenant=tenant)
        except NotFound:
            ref = name if version is None else f"{name}@{version}"
            raise Permanent(f"template {ref!r} does not exist") from None
        assert found.bundle is not None
        bundle = tpl.unpack(found.bundle, found.engine, found.main)
        with self._lock:
            self._templates[(store.url, tenant, name, found.version)] = bundle
            while len(self._templates) > TEMPLATE_CACHE_SIZE:
                self._templates.popitem(last=False)
        return bundle


_RESOURCES = _ChildResources()


def resolve_template(
    template: Any, tenant: str, engine: str | None, store: Store | None = None
) -> tuple[TemplateBundle, str]:
    """The bundle a job's ``template`` argument names, and a default file name for its output.

    ``store`` reads stored templates directly (no process cache); without it the worker child's
    own connection and cache are used.
    """
    if isinstance(template, Mapping):
        bundle, label = tpl.from_inline(template), "document"
    elif isinstance(template, str):
        name, version = tpl.parse_ref(template)
        label = name
        if store is None:
            bundle = _RESOURCES.stored_bundle(tenant, name, version)
        else:
            try:
                found = store.template_get(name, version, tenant=tenant)
            except NotFound:
                raise InvalidInput(f"unknown template {template!r}") from None
            assert found.bundle is not None
            bundle = tpl.unpack(found.bundle, found.engine, found.main)
    else:
        raise InvalidInput("template must be a name, name@version, or an inline template object")
    if engine and engine != bundle.engine:
        bundle = TemplateBundle(engine, bundle.main, bundle.files)
    return bundle, label


def render_bundle(
    bundle: TemplateBundle,
    data: Mapping[str, Any] | None,
    fmt: str | None,
    options: Mapping[str, Any] | None,
    progress: Progress,
    *,
    budget: bool = True,
) -> Rendered:
    """Render with this process's warm renderer, under the per-render CPU and memory budget."""
    renderer = get_renderer(bundle.engine)
    request = RenderRequest(bundle, dict(data or {}), fmt, dict(options or {}))
    if not budget:
        return renderer.render(request, progress)
    with render_budget(default_settings().limits, bundle.engine):
        return renderer.render(request, progress)


@task(name=RENDER_TASK, timeout_s=DEFAULT_TIMEOUT_S)
def render(
    ctx: JobContext,
    template: Any,
    data: dict[str, Any] | None = None,
    format: str | None = None,
    options: dict[str, Any] | None = None,
    filename: str | None = None,
    engine: str | None = None,
    cache: bool | float | None = None,
    tenant: str = "default",
) -> dict[str, Any]:
    """Render a template with data into the artifact store; return where and what it is.

    Submit render jobs with :meth:`pressroom.service.Pressroom.submit_render`, which checks
    them, pins a named template to its current version and sets ``tenant``; ``cache`` is used
    at submission only.
    """
    ctx.progress(1, "loading template")
    bundle, label = resolve_template(template, tenant, engine)
    ctx.raise_if_cancelled()

    def report(percent: float, message: str | None) -> None:
        ctx.progress(round(5 + 0.85 * min(100.0, max(0.0, percent)), 1), message)

    doc = render_bundle(bundle, data, format, options, report)
    ctx.raise_if_cancelled()
    ctx.progress(92, "storing the document")
    name = sanitize_filename(filename, doc.extension, default=label)
    key = artifact_key(tenant, ctx.job_id, ctx.attempt, name, run=secrets.token_hex(4))
    _RESOURCES.artifacts().put(key, doc.content, content_type=doc.content_type)
    return {
        "filename": name,
        "content_type": doc.content_type,
        "size": len(doc.content),
        "sha256": hashlib.sha256(doc.content).hexdigest(),
        "page_count": doc.page_count,
        "key": key,
    }
