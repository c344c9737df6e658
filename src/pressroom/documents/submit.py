"""Checking a render job before it is accepted, and the opt-in result cache.

:func:`plan_render` checks everything a worker would trip over later — the template exists (or
the inline one is well formed), the engine is known and takes the template's main file, the
format is one the engine makes, the options fit its schema, the data is a JSON object — and
pins a named template to its current version, so the job renders exactly what was checked.

Result cache: a job submitted with ``cache`` (``true`` for a day, or a TTL in seconds) gets a
``cache_key``, the sha256 of (template version digest, engine, format, data, options). If a
succeeded job of the same tenant with that key finished within the TTL, the new job is created
already succeeded, with its own copy of that artifact (a hard link on disk, a server-side copy
on S3) under its own key, so deleting or purging either job never breaks the other. Its result
says ``cached_from``. The file name is not part of the key: a hit takes the new job's name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pressroom.artifacts import (
    ArtifactStore,
    artifact_key,
    job_prefix,
    open_document,
    sanitize_filename,
)
from pressroom.core.errors import InvalidInput, NotFound
from pressroom.core.ids import new_id
from pressroom.core.models import Job, NewJob
from pressroom.core.ports import Store
from pressroom.documents import templates as tpl
from pressroom.renderers.base import Renderer, resolve_format, validate_options
from pressroom.renderers.errors import TemplateError
from pressroom.renderers.registry import get_renderer

DEFAULT_CACHE_TTL_S = 86400.0
"""How long a result stays reusable when a job asks for ``cache: true``."""
MAX_CACHE_TTL_S = 366 * 86400.0
MAX_FILENAME_CHARS = 255
_CACHE_KEY_VERSION = 1


@dataclass(frozen=True)
class RenderPlan:
    """A checked render submission: the job's arguments and its cache settings."""

    args: dict[str, Any]
    cache_key: str | None = None
    cache_ttl_s: float | None = None


def load_renderer(engine: str) -> Renderer:
    """The renderer for ``engine``, or InvalidInput naming the known engines."""
    if not isinstance(engine, str) or not engine:
        raise InvalidInput("engine must be a name such as 'html' or 'typst'")
    try:
        return get_renderer(engine)
    except TemplateError as exc:
        raise InvalidInput(str(exc)) from None
    except (ImportError, TypeError) as exc:
        raise InvalidInput(f"engine {engine!r} cannot be loaded here: {exc}") from None


def _check_main(renderer: Renderer, main: str) -> None:
    if not main.lower().endswith(tuple(renderer.accepts)):
        raise InvalidInput(
            f"engine {renderer.name!r} does not take {main!r} as its main file "
            f"(it takes {', '.join(renderer.accepts)})"
        )


def parse_cache(cache: Any) -> float | None:
    """``None``/``False`` → no cache; ``True`` → a day; a number of seconds → that TTL."""
    if cache is None or cache is False:
        return None
    if cache is True:
        return DEFAULT_CACHE_TTL_S
    if isinstance(cache, int | float) and 0 < cache <= MAX_CACHE_TTL_S:
        return float(cache)
    raise InvalidInput(
        f"cache must be true, false or a TTL in seconds between 1 and {MAX_CACHE_TTL_S:.0f}"
    )


def plan_render(
    store: Store,
    template: Any,
    data: Any = None,
    *,
    format: str | None = None,
    options: Mapping[str, Any] | None = None,
    filename: str | None = None,
    engine: str | None = None,
    cache: Any = None,
    tenant: str = "default",
) -> RenderPlan:
    """Check a render submission and return the job's arguments; InvalidInput if it is bad."""
    if isinstance(template, str):
        name, version = tpl.parse_ref(template)
        try:
            found = store.template_get(name, version, tenant=tenant, with_bundle=False)
        except NotFound:
            raise InvalidInput(
                f"unknown template {template!r}; `pressroom templates list` shows the stored ones"
            ) from None
        stored: Any = found.ref
        main, digest, engine_name = found.main, found.sha256, engine or found.engine
    elif isinstance(template, Mapping):
        bundle = tpl.from_inline(template)
        stored = dict(template)
        main, digest, engine_name = bundle.main, tpl.bundle_digest(bundle), engine or bundle.engine
    else:
        raise InvalidInput(
            'template must be a stored name, name@version, or {"engine", "source", "files"}'
        )
    renderer = load_renderer(engine_name)
    _check_main(renderer, main)
    fmt = resolve_format(renderer, format)
    if not isinstance(options or {}, Mapping):
        raise InvalidInput("options must be a JSON object")
    opts = dict(options or {})
    named = opts.pop("filename", None)  # the contract lets options carry the file name
    filename = filename if filename is not None else named
    validate_options(renderer.name, renderer.options, opts)
    data = {} if data is None else data
    if not isinstance(data, Mapping):
        raise InvalidInput("data must be a JSON object")
    try:
        json.dumps(data, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"data is not JSON: {exc}") from None
    if filename is not None and (
        not isinstance(filename, str) or len(filename) > MAX_FILENAME_CHARS
    ):
        raise InvalidInput(f"filename must be text of at most {MAX_FILENAME_CHARS} characters")
    ttl = parse_cache(cache)
    args: dict[str, Any] = {"template": stored, "data": dict(data), "format": fmt, "options": opts}
    extras = {"filename": filename, "engine": engine, "cache": cache if ttl else None}
    args.update({k: v for k, v in extras.items() if v is not None})
    args["tenant"] = tenant
    key = None
    if ttl:
        identity = [_CACHE_KEY_VERSION, digest, renderer.name, fmt, args["data"], opts]
        text = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        key = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return RenderPlan(args, key, ttl)


def reuse_cached(
    store: Store, artifacts: ArtifactStore, job: NewJob, ttl_s: float, now: datetime
) -> tuple[Job, bool] | None:
    """Create ``job`` already succeeded from a recent identical result, or None (a miss)."""
    if job.cache_key is None:
        return None
    hit = store.job_get_cached(job.cache_key, now - timedelta(seconds=ttl_s), tenant=job.tenant)
    result = hit.result if hit is not None else None
    if hit is None or not isinstance(result, dict) or not isinstance(result.get("key"), str):
        return None
    old_name = str(result.get("filename") or "document")
    extension = old_name.rsplit(".", 1)[-1] if "." in old_name else "bin"
    wanted = job.args.get("filename")
    name = sanitize_filename(wanted, extension) if wanted else old_name
    job_id = new_id()
    key = artifact_key(job.tenant, job_id, 0, name)
    try:
        open_document(artifacts, result).close()
        artifacts.copy(result["key"], key)
    except FileNotFoundError:
        return None  # purged, deleted or lost meanwhile: render again
    reused = {**result, "filename": name, "key": key, "cached_from": hit.id}
    stored, created = store.job_insert_cached(job_id, job, reused, now=now)
    if not created:
        artifacts.delete_prefix(job_prefix(job.tenant, job_id))
    return stored, created
