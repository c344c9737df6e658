"""The artifact store port and the rules for keys."""

from __future__ import annotations

import hashlib
import io
import os
import re
import unicodedata
from collections.abc import Mapping
from typing import Any, BinaryIO, Protocol

from pressroom.core.errors import InvalidInput

_SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
MAX_FILENAME = 120


class ArtifactStore(Protocol):
    """Where documents are kept, by key (``tenant/job/attempt/filename``).

    A key is ``/``-separated parts of letters, digits, ``.``, ``_`` and ``-`` (none starting with
    a dot); :func:`check_key` refuses anything else, so no key can leave the store's root.
    """

    url: str
    """Where the store is, without credentials."""

    def put(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        """Store ``data`` under ``key``, replacing what was there; readers see the whole
        document or nothing, never a part of it."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A binary stream of the artifact; FileNotFoundError if there is none."""
        ...

    def read(self, key: str) -> bytes:
        """The artifact's bytes; FileNotFoundError if there is none."""
        ...

    def exists(self, key: str) -> bool:
        """Whether an artifact is stored under ``key``."""
        ...

    def copy(self, source: str, target: str) -> None:
        """Copy an artifact to another key (a hard link on disk, a server-side copy on S3);
        FileNotFoundError if the source is gone."""
        ...

    def delete(self, key: str) -> None:
        """Delete one artifact; nothing happens if there is none."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every artifact under a folder-like prefix (ending in ``/``); return how many."""
        ...


def open_document(artifacts: ArtifactStore, result: Mapping[str, Any]) -> BinaryIO:
    """The document a render result names, opened; FileNotFoundError if it is gone or, for a
    file on disk, if its size is not the result's ``size``: a document written without fsync
    (see docs/documents.md) can come back empty or short after a power loss, and is then
    treated as lost rather than served."""
    stream = artifacts.open(str(result["key"]))
    expected = result.get("size")
    try:
        stored: int | None = os.fstat(stream.fileno()).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        stored = None
    if isinstance(expected, int) and stored is not None and stored != expected:
        stream.close()
        raise FileNotFoundError(
            f"artifact {result['key']!r} holds {stored} bytes, not {expected}: incomplete"
        )
    return stream


def check_key(key: str, *, prefix: bool = False) -> str:
    """Return ``key`` if it is a valid artifact key (or, with ``prefix``, a prefix ending in
    ``/``); raise InvalidInput otherwise."""
    body = key[:-1] if prefix and key.endswith("/") else key
    if prefix and not key.endswith("/"):
        raise InvalidInput(f"artifact prefix {key!r} must end with '/'")
    parts = body.split("/")
    if not body or len(key) > 512 or not all(_SAFE_PART.match(p) for p in parts):
        raise InvalidInput(f"invalid artifact key {key!r}")
    return key


def _part(value: str) -> str:
    """A key part for a value the server chose (tenant, job id): kept when safe, else hashed."""
    if _SAFE_PART.match(value):
        return value
    return "x-" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]


def job_prefix(tenant: str, job_id: str) -> str:
    """The prefix holding every artifact of one job, all attempts: ``tenant/job_id/``."""
    return f"{_part(tenant)}/{_part(job_id)}/"


def artifact_key(
    tenant: str, job_id: str, attempt: int, filename: str, *, run: str | None = None
) -> str:
    """The key of one attempt's document: ``tenant/job_id/attempt/filename``, or with ``run``
    (a token of one run) ``tenant/job_id/attempt-run/filename``.

    Render jobs pass a fresh ``run``: two runs of one attempt (after a database crash forgot
    the claim of the first, see ``docs/engine.md``) then never write the same key, so the
    document the job's result points to is the one its recorded size and sha256 describe.
    ``filename`` must already be sanitised (:func:`sanitize_filename`); it is checked again.
    """
    if not isinstance(attempt, int) or attempt < 0:
        raise InvalidInput(f"invalid attempt {attempt!r}")
    if run is not None and not (run.isascii() and run.isalnum() and len(run) <= 32):
        raise InvalidInput(f"invalid run token {run!r}")
    part = str(attempt) if run is None else f"{attempt}-{run}"
    return check_key(f"{job_prefix(tenant, job_id)}{part}/{filename}")


def sanitize_filename(name: str | None, extension: str, *, default: str = "document") -> str:
    """A safe file name ending in ``.extension`` made from what a user asked for.

    Only the last path component is kept; accents are folded to ASCII; anything but letters,
    digits, ``.``, ``_`` and ``-`` becomes ``_``; leading dots and underscores go; the result
    has at most 120 characters and always ends with the document's extension.
    """
    ext = _UNSAFE_CHARS.sub("", extension.lower().lstrip(".")) or "bin"
    raw = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    folded = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode("ascii")
    stem = _UNSAFE_CHARS.sub("_", folded).strip("._-")
    if stem.lower().endswith("." + ext):
        stem = stem[: -len(ext) - 1].rstrip("._-")
    stem = stem[: MAX_FILENAME - len(ext) - 1].rstrip("._-") or default
    return f"{stem}.{ext}"
