"""Synchronous previews for template authors, rendered in a separate process under a time budget.

The event loop never renders: a small pool of spawned processes does, each under the per-render
CPU and memory budget of worker children. A render that outlives ``timeout_s`` has its process
killed (the pool is rebuilt), so a runaway template cannot hold the API.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import threading
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from pressroom.core.errors import InvalidInput, TaskFailure
from pressroom.renderers.base import Rendered, TemplateBundle, null_progress

log = logging.getLogger("pressroom.api.preview")


class PreviewTimeout(Exception):
    """The render did not finish within the budget."""


class PreviewBusy(Exception):
    """Every preview process is busy."""


def _render(
    engine: str, main: str, files: dict[str, bytes], data: Any, fmt: str, options: Any
) -> Rendered | str:
    """Runs in a pool process: the document, or the message of why the render failed."""
    from pressroom.documents.task import render_bundle

    try:
        bundle = TemplateBundle(engine=engine, main=main, files=files)
        return render_bundle(bundle, data, fmt, options, null_progress)
    except (TaskFailure, InvalidInput) as exc:
        return f"{type(exc).__name__}: {exc}"
    except MemoryError:
        return "LimitError: the render ran out of its memory budget"
    except Exception as exc:  # noqa: BLE001 - whatever a template provokes is the template's
        return f"the render failed: {type(exc).__name__}: {exc}"


def _warm() -> None:
    """Runs in a new pool process before its first timed render: load the renderers."""
    import pressroom.documents.task  # noqa: F401 - imported for its side effect: warm modules


class PreviewPool:
    """A lazily started pool of ``processes`` spawned renderer processes."""

    def __init__(self, processes: int, timeout_s: float) -> None:
        """A pool that renders at most ``processes`` previews at once, each within ``timeout_s``."""
        self.processes = max(1, processes)
        self.timeout_s = timeout_s
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._slots: asyncio.Semaphore | None = None
        self._warm: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                ctx = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(self.processes, mp_context=ctx)
            return self._pool

    def _kill(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    async def render(
        self, bundle: TemplateBundle, data: Mapping[str, Any], fmt: str, options: Mapping[str, Any]
    ) -> Rendered:
        """Render in the pool; PreviewBusy, PreviewTimeout, or InvalidInput for template errors."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.processes)
        if self._slots.locked():
            raise PreviewBusy
        async with self._slots:
            loop = asyncio.get_running_loop()
            pool = self._executor()
            if self._warm is not pool:  # start-up (imports) is not part of the budget
                await asyncio.wait_for(loop.run_in_executor(pool, _warm), 120)
                self._warm = pool
            files = dict(bundle.files)
            job = (bundle.engine, bundle.main, files, dict(data), fmt, dict(options))
            future = loop.run_in_executor(pool, _render, *job)
            try:
                out = await asyncio.wait_for(future, self.timeout_s)
            except TimeoutError:
                log.warning("preview exceeded %.1f s; its process was killed", self.timeout_s)
                self._kill()
                raise PreviewTimeout from None
            except BrokenProcessPool:
                self._kill()
                raise InvalidInput(
                    "the preview process died (the template used too much)"
                ) from None
        if isinstance(out, str):
            raise InvalidInput(out)
        return out

    def close(self) -> None:
        """Stop the pool's processes."""
        self._kill()
