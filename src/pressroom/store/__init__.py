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


def survives_power_loss(url: str) -> bool:
    """Whether the store a URL names makes every commit durable across power loss: SQLite with
    ``synchronous=FULL`` and PostgreSQL (which fsyncs its commits unless its own settings say
    otherwise) do; SQLite's default ``NORMAL`` and memory do not. Worker children store
    documents with the same durability (see docs/documents.md)."""
    parts = urlsplit(url)
    if parts.scheme in ("postgresql", "postgres"):
        return True
    if parts.scheme == "sqlite":
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return query.get("synchronous", "NORMAL").upper() == "FULL"
    return False


__all__ = ["DEFAULT_DATABASE_URL", "Store", "open_store", "survives_power_loss"]
