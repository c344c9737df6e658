"""What a worker child sends its supervisor: progress coalesced for fast jobs, in order."""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

from pressroom.worker.child import DONE, EXIT, PROGRESS, READY, RUN, child_main


def test_a_fast_jobs_progress_travels_with_its_result() -> None:
    """A job reporting four stages at once sends two messages (its first progress, then its
    result carrying the rest), and every stage arrives, in order."""
    ctx = multiprocessing.get_context("spawn")
    parent, child_end = ctx.Pipe()
    flag = ctx.RawArray("c", 32)
    state = ctx.RawArray("d", 2)
    state[0] = -1
    proc = ctx.Process(
        target=child_main,
        args=(child_end, flag, state, ("tests.worker_tasks",), os.getpid()),
        daemon=True,
    )
    proc.start()
    messages: list[Any] = []
    try:
        assert parent.poll(60) and parent.recv()[0] == READY
        parent.send((RUN, [("job-1", 1, 1, "default", "test.progress", {"steps": 4})]))
        while not messages or messages[-1][0] != DONE:
            assert parent.poll(30), messages
            messages.append(parent.recv())
        parent.send((EXIT,))
    finally:
        proc.join(10)
        if proc.is_alive():
            proc.kill()
            proc.join(5)
    kinds = [m[0] for m in messages]
    records = [r for m in messages for r in (m[1] if m[0] == PROGRESS else m[2])]
    assert kinds == [PROGRESS, DONE]
    assert [(r[0], r[2]) for r in records] == [("job-1", p) for p in (25.0, 50.0, 75.0, 100.0)]
    assert messages[-1][1][0][3] == "ok"
