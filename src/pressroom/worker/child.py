"""The child process: receives one job at a time over a pipe, runs it, reports the outcome.

A child never touches the database. It stays alive across jobs so imports, fonts and warm
renderers are reused; the supervisor kills it to enforce a timeout or a cancellation, and
recycles it after a number of jobs or above a memory ceiling.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from pressroom.core.errors import Cancelled, InvalidInput, Permanent
from pressroom.core.tasks import JobContext, load_task_modules, registry

RUN = "run"
EXIT = "exit"
READY = "ready"
PROGRESS = "progress"
DONE = "done"


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to kill this process when the supervisor dies, so no orphan keeps working."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass
    if os.getppid() != parent_pid:
        os._exit(1)


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
    """Run the job a ``run`` message describes; return the ``done`` message to send back."""
    _, job_id, attempt, max_attempts, queue, task_name, args = message
    ctx = JobContext(
        job_id,
        attempt,
        max_attempts=max_attempts,
        queue=queue,
        report_progress=lambda percent, text: report(job_id, attempt, percent, text),
        is_cancelled=is_cancelled,
    )
    try:
        spec = registry.get(task_name)
        spec.check_args(args)
        result = spec.fn(ctx, **args)
        json.dumps(result)
    except Cancelled as exc:
        return (DONE, job_id, attempt, "cancelled", None, error_payload(exc, retryable=False))
    except (Permanent, InvalidInput) as exc:
        return (DONE, job_id, attempt, "error", None, error_payload(exc, retryable=False))
    except Exception as exc:  # noqa: BLE001 - any task failure is recorded, never crashes the child
        return (DONE, job_id, attempt, "error", None, error_payload(exc, retryable=True))
    return (DONE, job_id, attempt, "ok", result, None)


def child_main(
    conn: Connection,
    cancel_flag: Any,
    task_modules: tuple[str, ...],
    parent_pid: int,
) -> None:
    """Entry point of a child process."""
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides how to stop
    try:
        load_task_modules(task_modules)
    except InvalidInput as exc:
        conn.send(("fatal", str(exc)))
        return
    conn.send((READY, os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == EXIT:
            return

        def report(job_id: str, attempt: int, percent: float, text: str | None) -> None:
            conn.send((PROGRESS, job_id, attempt, percent, text))

        reply = run_one(message, report, lambda: bool(cancel_flag.value))
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return
