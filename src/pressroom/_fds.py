"""Waiting on file descriptors, shared by the supervisor's loop, the event hub and the
PostgreSQL driver's liveness check."""

from __future__ import annotations

import math
import select


def readable(fds: list[int], timeout_s: float = 0.0) -> set[int]:
    """Which of ``fds`` are readable (or hung up) within ``timeout_s`` seconds (0: no wait).

    ``poll``, not ``select``: a process holding a thousand streams has descriptors above
    select's limit of 1024; and not ``multiprocessing.connection.wait``, which builds a selector
    in Python on every call (a seventh of the supervisor's CPU when draining fast jobs).
    """
    if not hasattr(select, "poll"):  # pragma: no cover - Windows
        return set(select.select(fds, [], [], timeout_s)[0])
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    return {fd for fd, _ in poller.poll(math.ceil(timeout_s * 1000))}
