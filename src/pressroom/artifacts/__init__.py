"""Artifact storage: where rendered documents live, on local disk or S3-compatible storage.

:func:`open_artifacts` picks the driver from ``PRESSROOM_STORAGE_URL``: a folder (``file:///abs``
or a plain path; default ``./pressroom-data/artifacts``) or ``s3://bucket/prefix``. Keys are
made by the server only (:func:`artifact_key`:
``{tenant}/{job_id}/{attempt}-{run}/{filename}``, every part checked or sanitised), never taken
from a user's path. An artifact appears only when it is complete: the local driver writes a
hidden temporary file and renames it; S3 publishes an object only when its upload completes.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from pressroom.artifacts._base import (
    ArtifactStore,
    artifact_key,
    check_key,
    job_prefix,
    open_document,
    sanitize_filename,
)
from pressroom.core.errors import InvalidInput

DEFAULT_STORAGE_URL = "pressroom-data/artifacts"
"""Where artifacts go when ``PRESSROOM_STORAGE_URL`` is not set (relative to the working dir)."""


def open_artifacts(
    url: str | None = None, env: Mapping[str, str] | None = None, *, fsync: bool = True
) -> ArtifactStore:
    """Open the artifact store a URL names (default :data:`DEFAULT_STORAGE_URL`).

    - a path, or ``file:///absolute/path``: a local folder, created on first write; ``fsync``
      flushes each document to disk before it is published (without it a document survives
      any process crash, but not a power loss);
    - ``s3://bucket/optional/prefix``: S3 or an S3-compatible server; ``PRESSROOM_S3_ENDPOINT_URL``,
      ``PRESSROOM_S3_REGION``, ``PRESSROOM_S3_ACCESS_KEY_ID`` and ``PRESSROOM_S3_SECRET_ACCESS_KEY``
      (falling back to the usual ``AWS_*`` variables and credential files) configure it.
    """
    url = url or DEFAULT_STORAGE_URL
    parts = urlsplit(url)
    if parts.scheme == "s3":
        from pressroom.artifacts.s3 import S3Artifacts

        return S3Artifacts.from_url(url, env)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise InvalidInput(f"storage URL {url!r}: file URLs name a local path (file:///dir)")
        from pressroom.artifacts.local import LocalArtifacts

        return LocalArtifacts(parts.path, fsync=fsync)
    if parts.scheme and len(parts.scheme) > 1:
        raise InvalidInput(
            f"unsupported storage URL {url!r}: use a folder path, file:///dir or s3://bucket/prefix"
        )
    from pressroom.artifacts.local import LocalArtifacts

    return LocalArtifacts(url, fsync=fsync)


__all__ = [
    "DEFAULT_STORAGE_URL",
    "ArtifactStore",
    "artifact_key",
    "check_key",
    "job_prefix",
    "open_artifacts",
    "open_document",
    "sanitize_filename",
]
