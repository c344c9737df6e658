"""What only the SQLite driver does: the benchmark's statement counter."""

from __future__ import annotations

from pathlib import Path

import pytest

from pressroom.core.models import NewJob
from pressroom.store import open_store


def test_count_file_counts_every_statement_only_when_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With PRESSROOM_SQLITE_COUNT_FILE set, each statement of a new connection appends one
    byte to that file (bench/http_bench.py reads it); without it, nothing is written."""
    counts = tmp_path / "statements"
    monkeypatch.delenv("PRESSROOM_SQLITE_COUNT_FILE", raising=False)
    plain = open_store(f"sqlite:///{tmp_path}/plain.db")
    plain.migrate()
    plain.job_insert(NewJob("t"))
    plain.close()
    assert not counts.exists()

    monkeypatch.setenv("PRESSROOM_SQLITE_COUNT_FILE", str(counts))
    store = open_store(f"sqlite:///{tmp_path}/counted.db")
    try:
        store.migrate()
        before = counts.stat().st_size
        assert before > 0
        store.job_insert(NewJob("t"))
        assert counts.stat().st_size > before
        assert set(counts.read_bytes()) == {ord(".")}
    finally:
        store.close()
