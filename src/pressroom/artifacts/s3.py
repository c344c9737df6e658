"""Artifacts in S3 or an S3-compatible server (MinIO, Ceph, moto…), through fsspec/s3fs.

An object becomes visible only when its upload completes (a single PUT, or the completion of a
multipart upload for big documents), so readers never see a partial document. Copies are
server-side. Listing caches are off, so every node sees what the others wrote.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from typing import Any, BinaryIO, cast
from urllib.parse import urlsplit

from pressroom.artifacts._base import check_key
from pressroom.core.errors import InvalidInput


class S3Artifacts:
    """An artifact store under ``s3://bucket/prefix``."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        key: str | None = None,
        secret: str | None = None,
    ) -> None:
        """Use ``bucket`` (which must exist) under an optional ``prefix``."""
        import s3fs  # type: ignore[import-untyped]

        if not bucket:
            raise InvalidInput("an S3 storage URL needs a bucket: s3://bucket/prefix")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if self.prefix:
            check_key(self.prefix)
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")
        client_kwargs: dict[str, Any] = {"region_name": region} if region else {}
        self._fs: Any = s3fs.S3FileSystem(
            key=key,
            secret=secret,
            endpoint_url=endpoint_url,
            client_kwargs=client_kwargs,
            skip_instance_cache=True,
            use_listings_cache=False,
        )

    @classmethod
    def from_url(cls, url: str, env: Mapping[str, str] | None = None) -> S3Artifacts:
        """A store for ``s3://bucket/prefix`` configured by ``PRESSROOM_S3_*`` variables."""
        environ = os.environ if env is None else env
        parts = urlsplit(url)
        return cls(
            parts.netloc,
            parts.path,
            endpoint_url=environ.get("PRESSROOM_S3_ENDPOINT_URL") or None,
            region=environ.get("PRESSROOM_S3_REGION") or None,
            key=environ.get("PRESSROOM_S3_ACCESS_KEY_ID") or None,
            secret=environ.get("PRESSROOM_S3_SECRET_ACCESS_KEY") or None,
        )

    def _path(self, key: str, *, prefix: bool = False) -> str:
        check_key(key, prefix=prefix)
        return "/".join(p for p in (self.bucket, self.prefix, key) if p)

    def put(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        """Upload ``data``; the object appears when the upload completes."""
        extra = {"ContentType": content_type} if content_type else {}
        self._fs.pipe_file(self._path(key), data, **extra)

    def open(self, key: str) -> BinaryIO:
        """A streaming reader of the object."""
        return cast(BinaryIO, self._fs.open(self._path(key), "rb"))

    def read(self, key: str) -> bytes:
        """The object's bytes."""
        return cast(bytes, self._fs.cat_file(self._path(key)))

    def exists(self, key: str) -> bool:
        """Whether the object exists."""
        return bool(self._fs.exists(self._path(key)))

    def copy(self, source: str, target: str) -> None:
        """A server-side copy of one object."""
        self._fs.copy(self._path(source), self._path(target))

    def delete(self, key: str) -> None:
        """Delete the object if it exists."""
        with contextlib.suppress(FileNotFoundError):
            self._fs.rm_file(self._path(key))

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under the prefix."""
        path = self._path(prefix, prefix=True)
        found = self._fs.find(path)
        if found:
            self._fs.rm(found)
        return len(found)
