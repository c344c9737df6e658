"""The child process: receives jobs over a pipe (a few at a time when they are fast), runs them in
order, and reports each outcome as it ends.

A child never writes job state: only the supervisor does (render jobs read templates and
write artifacts, see :mod:`pressroom.documents.task`). It stays alive across jobs so imports,
fonts and warm renderers are reused; the supervisor kills it to enforce a timeout or a
cancellation, and recycles it after a number of jobs or above a memory ceiling.
"""

from __future__ import annotations

import json
import os
import signal
import time
import traceback
from collections.abc import Callable
from functools import partial
from multiprocessing.connection import Connection
from typing import Any

from pressroom._linux import on_parent_death
from pressroom.core.errors import Cancelled, InvalidInput, Permanent
from pressroom.core.tasks import JobContext, load_task_modules, registry

RUN = "run"
EXIT = "exit"
READY = "ready"
PROGRESS = "progress"
DONE = "done"
RESULT_BATCH_S = 0.002
PROGRESS_HOLD_S = 0.05
"""Progress reported sooner than this after the child's previous progress message waits and
travels with the next one or with the job's result. The supervisor writes progress every 0.1 s,
so the database loses no stage; a fast job costs two messages instead of one per stage."""


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to kill this process when the supervisor dies, so no orphan keeps working;
    exit at once if it already has."""
    on_parent_death(signal.SIGKILL)
    if os.getppid() != parent_pid:
        os._exit(1)


def _flag_is(flag: Any, wanted: bytes) -> bool:
    return bytes(flag.raw) == wanted


def error_payload(exc: BaseException, *, retryable: bool) -> dict[str, Any]:
    """An exception as the JSON the supervisor turns into a job error."""
    return {
        "type": type(exc).__name__,
        "message": str(exc) or type(exc).__name__,
        "traceback": "".join(traceback.format_exception(exc)),
        "retryable": retryable,
    }


def run_one(
    message: tuple[Any, ...],
    report: Callable[[str, int, float, str | None], None],
    is_cancelled: Callable[[], bool],
) -> tuple[Any, ...]:
    """Run the job a ``run`` message describes; return the ``done`` message to send back.

    The reply is ``(DONE, job_id, attempt, status, result, error, elapsed_ms)`` with status
    ``ok``, ``error`` or ``cancelled``.
    """
    _, job_id, attempt, max_attempts, queue, task_name, args = message
    ctx = JobContext(
        job_id,
        attempt,
        max_attempts=max_attempts,
        queue=queue,
        report_progress=lambda percent, text: report(job_id, attempt, percent, text),
        is_cancelled=is_cancelled,
    )
    started = time.monotonic()
    status, result, error = "ok", None, None
    try:
        spec = registry.get(task_name)
        spec.check_args(args)
        result = spec.fn(ctx, **args)
        json.dumps(result)
    except Cancelled as exc:
        status, error = "cancelled", error_payload(exc, retryable=False)
    except (Permanent, InvalidInput) as exc:
        status, error = "error", error_payload(exc, retryable=False)
    except Exception as exc:  # noqa: BLE001 - any task failure is recorded, never crashes the child
        status, error = "error", error_payload(exc, retryable=True)
    if error is not None:
        result = None
    elapsed_ms = (time.monotonic() - started) * 1000
    return (DONE, job_id, attempt, status, result, error, elapsed_ms)


def child_main(
    conn: Connection,
    cancel_flag: Any,
    state: Any,
    task_modules: tuple[str, ...],
    parent_pid: int,
) -> None:
    """Entry point of a child process.

    ``state`` is shared memory the supervisor reads without a message: ``state[0]`` is the
    sequence number of the job started last (-1 before any), ``state[1]`` when it started
    (``time.monotonic``, comparable across processes). ``cancel_flag`` holds the id of a job
    to cancel. Results of fast jobs are sent in batches: at the end of each message, or once
    the oldest unsent result is ``RESULT_BATCH_S`` old. Progress is sent as ``(PROGRESS,
    records)``; records reported within ``PROGRESS_HOLD_S`` of the previous message wait for
    the next one, and a ``(DONE, replies, records)`` message carries those still waiting,
    to be applied before the replies.
    """
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides how to stop
    try:
        load_task_modules(task_modules)
    except InvalidInput as exc:
        conn.send(("fatal", str(exc)))
        return
    conn.send((READY, os.getpid()))

    held: list[tuple[str, int, float, str | None]] = []
    last_sent = [float("-inf")]

    def report(job_id: str, attempt: int, percent: float, text: str | None) -> None:
        held.append((job_id, attempt, percent, text))
        now = time.monotonic()
        if now - last_sent[0] >= PROGRESS_HOLD_S:
            conn.send((PROGRESS, held[:]))
            held.clear()
            last_sent[0] = now

    seq = 0
    pending: list[tuple[Any, ...]] = []
    oldest = 0.0
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == EXIT:
            return
        jobs = message[1]
        for i, job in enumerate(jobs):
            now = time.monotonic()
            state[1] = now
            state[0] = seq
            seq += 1
            reply = run_one((RUN, *job), report, partial(_flag_is, cancel_flag, job[0].encode()))
            if not pending:
                oldest = now
            pending.append(reply)
            if i == len(jobs) - 1 or time.monotonic() - oldest >= RESULT_BATCH_S:
                try:
                    conn.send((DONE, pending, held[:]))
                except (BrokenPipeError, OSError):
                    return
                pending = []
                held.clear()
