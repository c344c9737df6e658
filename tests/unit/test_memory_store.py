"""The memory store's own listener (the contract suite's listener test needs two processes)."""

from __future__ import annotations

from pressroom.core.models import NewJob
from pressroom.store import open_store


def test_memory_listener_reports_new_work_once() -> None:
    """The listener reports an insert on the next poll, and only once."""
    store = open_store("memory://")
    listener = store.listener()
    assert listener.fileno() is None
    assert not listener.poll()
    store.job_insert(NewJob(task="t"))
    assert listener.poll()
    assert not listener.poll()
    listener.close()
