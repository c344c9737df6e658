"""Stores: where jobs live. :func:`open_store` picks the driver from a URL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from pressroom.core.errors import InvalidInput
from pressroom.core.ports import Store

DEFAULT_DATABASE_URL = "sqlite:///pressroom-data/pressroom.db"


def open_store(url: str) -> Store:
    """Open the store a URL names.

    - ``sqlite:///relative/file.db`` or ``sqlite:////absolute/file.db``; ``?synchronous=FULL``
      makes every commit durable across power loss (default ``NORMAL``).
    - ``postgresql://user@host:port/db`` (also ``postgres://``); ``?pool_max=N``.
    - ``memory://`` — in this process only, for tests.
    """
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if parts.scheme == "sqlite":
        from pressroom.store.sqlite import SQLiteStore

        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        if not path:
            raise InvalidInput(f"SQLite URL {url!r} names no file; e.g. sqlite:///data/jobs.db")
        return SQLiteStore(path, synchronous=query.get("synchronous", "NORMAL"))
    if parts.scheme in ("postgresql", "postgres"):
        from pressroom.store.postgres import PostgresStore

        return PostgresStore(url)
    if parts.scheme == "memory":
        from pressroom.store.memory import MemoryStore

        return MemoryStore()
    raise InvalidInput(
        f"unsupported database URL {url!r}: use sqlite:///FILE, postgresql://… or memory://"
    )


__all__ = ["DEFAULT_DATABASE_URL", "Store", "open_store"]
