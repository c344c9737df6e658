"""Artifacts in a local folder (one machine, or a shared mount).

A document is written to a hidden temporary file beside its final name, flushed to disk (unless
the store was opened with ``fsync=False``), and renamed over the final name, so a reader sees
the whole document or nothing, whichever process crashes. Copies are hard links where the file
system allows them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from pathlib import Path
from typing import BinaryIO

from pressroom.artifacts._base import check_key


class LocalArtifacts:
    """An artifact store in one folder; keys map to paths under it."""

    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = True) -> None:
        """Use ``root`` (created on first write). ``fsync`` flushes every document to disk
        before publishing it, so that it survives a power loss; without it a document is left
        to the page cache, which survives any process crash."""
        self.root = Path(root).expanduser().absolute()
        self.url = f"file://{self.root}"
        self.fsync = fsync

    def _path(self, key: str, *, prefix: bool = False) -> Path:
        return self.root.joinpath(*check_key(key, prefix=prefix).rstrip("/").split("/"))

    def _publish(self, target: Path, write: BinaryIO | bytes | Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        try:
            if isinstance(write, Path):
                shutil.copyfile(write, temp)
            else:
                with open(temp, "wb") as fh:
                    fh.write(write if isinstance(write, bytes) else write.read())
                    if self.fsync:
                        fh.flush()
                        os.fsync(fh.fileno())
            os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise

    def put(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        """Write ``data`` atomically (temporary file, fsync unless disabled, rename)."""
        self._publish(self._path(key), data)

    def open(self, key: str) -> BinaryIO:
        """The artifact as an open binary file."""
        return self._path(key).open("rb")

    def read(self, key: str) -> bytes:
        """The artifact's bytes."""
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        """Whether the artifact's file exists."""
        return self._path(key).is_file()

    def copy(self, source: str, target: str) -> None:
        """Hard-link (or, across devices, copy) an artifact to another key."""
        src, dst = self._path(source), self._path(target)
        if not src.is_file():
            raise FileNotFoundError(f"no artifact {source!r}")
        dst.parent.mkdir(parents=True, exist_ok=True)
        temp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex}.part")
        try:
            os.link(src, temp)
            os.replace(temp, dst)
        except OSError:
            with contextlib.suppress(OSError):
                temp.unlink()
            self._publish(dst, src)

    def delete(self, key: str) -> None:
        """Remove the artifact's file if it exists."""
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def delete_prefix(self, prefix: str) -> int:
        """Remove the folder a prefix names, with every file under it."""
        folder = self._path(prefix, prefix=True)
        if not folder.is_dir():
            return 0
        count = sum(1 for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
        shutil.rmtree(folder, ignore_errors=True)
        return count
