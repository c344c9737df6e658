"""What the PostgreSQL driver's table mixins share: the connection type, the slice of the
driver they call (``_run``), UTC timestamps, "run one named query, return its rows", and the
outcome rows ``job_finish`` and the rescues apply."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import psycopg
from psycopg.rows import TupleRow

Conn = psycopg.Connection[TupleRow]
T = TypeVar("T")

OutcomeRow = tuple[str, int, str, Any, Any, str | None, int, list[dict[str, Any]] | None]
"""(id, attempt, status, result, error JSON, run_at ISO text, give_back, events or None)."""


class Driver(Protocol):
    """The part of :class:`~pressroom.store.postgres.PostgresStore` a mixin uses."""

    def _run(self, op: Callable[[Conn], T], *, write: bool, tx: bool = False) -> T: ...


def utc(value: datetime | None) -> datetime | None:
    """``value`` in UTC (None stays None)."""
    return None if value is None else value.astimezone(UTC)


def query_rows(
    store: Driver, sql: str, params: Mapping[str, Any], *, write: bool
) -> list[TupleRow]:
    """Run one statement through the driver; its rows, or [] when it returns none."""

    def op(conn: Conn) -> list[TupleRow]:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []

    return store._run(op, write=write)


def event_docs(events: Sequence[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """(kind, data) events as the ``{"kind", "data"}`` objects an :data:`OutcomeRow` carries."""
    return [{"kind": kind, "data": data} for kind, data in events]
