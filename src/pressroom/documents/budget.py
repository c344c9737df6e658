"""Per-render CPU and memory budgets for a long-lived worker child.

:func:`pressroom.renderers.apply_process_limits` lowers hard limits for good, which suits a
process that renders once. A worker child renders many documents, so here only the *soft*
limits are lowered around each render and put back afterwards:

- CPU: the soft ``RLIMIT_CPU`` is set to the CPU time used so far plus the budget
  (``PRESSROOM_RENDER_CPU_S``); the kernel's ``SIGXCPU`` then raises a
  :class:`~pressroom.renderers.errors.LimitError` in the render (a permanent failure). Code that
  never returns to Python (inside a native library) is stopped by the job's timeout instead.
- Memory: the soft ``RLIMIT_AS`` is set to ``PRESSROOM_RENDER_MEMORY_MB`` (or 512 MB above the
  address space the child already uses, if that is more), so a runaway allocation fails with
  ``MemoryError`` (retryable, like any crash) instead of taking the machine down. The
  ``chromium`` engine is exempt: a browser reserves far more address space than it uses, and its
  processes would inherit the limit.
"""

from __future__ import annotations

import contextlib
import resource
import signal
import threading
from collections.abc import Iterator
from types import FrameType

from pressroom.renderers.errors import LimitError
from pressroom.renderers.limits import RenderLimits

UNLIMITED_AS_ENGINES = frozenset({"chromium"})
"""Engines whose renders get no address-space limit (they start a browser)."""

_HEADROOM = 512 * 1024 * 1024


def _address_space_now() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


@contextlib.contextmanager
def render_budget(limits: RenderLimits, engine: str) -> Iterator[None]:
    """Lower the soft CPU and address-space limits for the duration of one render."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    restore: list[tuple[int, tuple[int, int]]] = []
    handlers: list[signal._HANDLER] = []
    cpu = limits.cpu_seconds

    def on_xcpu(_signum: int, _frame: FrameType | None) -> None:
        raise LimitError(f"the render used more than {cpu} s of CPU time", engine=engine)

    try:
        if cpu:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
            wanted = int(usage.ru_utime + usage.ru_stime) + cpu + 1
            if hard == resource.RLIM_INFINITY or wanted < hard:
                handlers.append(signal.signal(signal.SIGXCPU, on_xcpu))
                resource.setrlimit(resource.RLIMIT_CPU, (wanted, hard))
                restore.append((resource.RLIMIT_CPU, (soft, hard)))
        if limits.memory_bytes and engine not in UNLIMITED_AS_ENGINES:
            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            wanted = max(limits.memory_bytes, _address_space_now() + _HEADROOM)
            if hard == resource.RLIM_INFINITY or wanted < hard:
                resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))
                restore.append((resource.RLIMIT_AS, (soft, hard)))
        yield
    finally:
        for which, previous in reversed(restore):
            resource.setrlimit(which, previous)
        for handler in handlers:
            signal.signal(signal.SIGXCPU, handler if handler is not None else signal.SIG_DFL)
