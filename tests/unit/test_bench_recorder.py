"""The queue benchmark's recorder: jobs in several processes add up, and a new run starts at 0."""

from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import common


def _record(n: int) -> None:
    for _ in range(n):
        common.record_job(-1)


def test_completions_of_several_processes_are_summed_with_their_span(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each process counts in its own slot; the count is their sum, the span their union."""
    monkeypatch.setattr(common, "RECORD_DIR", tmp_path)
    fork = multiprocessing.get_context("fork")
    procs = [fork.Process(target=_record, args=(n,)) for n in (300, 700)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0
    assert len(list(tmp_path.glob("*.slot"))) == 2
    assert sum(count for count, _, _ in common.read_slots()) == 1000
    firsts_lasts = [(first, last) for _, first, last in common.read_slots()]
    assert all(0 < first <= last for first, last in firsts_lasts)
    common.clear_slots()
    assert common.read_slots() == []
