"""Linux process plumbing shared by the worker's children and ``serve``'s processes."""

from __future__ import annotations

import contextlib
import ctypes
import sys

_PR_SET_PDEATHSIG = 1


def on_parent_death(signum: int) -> None:
    """Ask Linux to send ``signum`` to this process when its parent dies, so no orphan keeps
    working (``prctl(PR_SET_PDEATHSIG)``); elsewhere, nothing."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signum)
