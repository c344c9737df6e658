"""One event hub per API process: waits for the store's wake-up hints and fans job events out to
the Server-Sent Events streams watching those jobs.

A background thread owns one :meth:`Store.listener` (SQLite: ``PRAGMA data_version`` polls;
PostgreSQL: LISTEN/NOTIFY) and, on each hint (or every ``backstop_s`` without one), reads the new
events of *every watched job in one query* (:meth:`Store.job_events_for`). The database load
depends on how often things change, not on how many clients watch. Each subscription keeps its
own cursor (the last ``seq`` it was given), so a stream resumed with ``Last-Event-ID`` gets
exactly the events after it. After a job's terminal status event every subscription of that job
gets :data:`END`, even one whose cursor was already past it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from pressroom._fds import readable
from pressroom.core.models import EventKind, JobEvent, JobStatus
from pressroom.core.ports import Listener, Store

log = logging.getLogger("pressroom.api.hub")

END = None
"""Put on a subscription's queue after the job's terminal status: the stream ends."""
_FETCH_LIMIT = 1000


class TooManyStreams(Exception):
    """The owner already holds its cap of open streams."""


def is_terminal(event: JobEvent) -> bool:
    """Whether the event is a job's terminal status."""
    if event.kind != EventKind.STATUS:
        return False
    try:
        return JobStatus(str(event.data.get("status"))).terminal
    except ValueError:
        return False


@dataclass(eq=False)
class Subscription:
    """One stream's view of one job: a queue of events (then END) and its cursor."""

    job_id: str
    owner: str
    cursor: int
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[JobEvent | None] = field(default_factory=asyncio.Queue)
    fresh: bool = True


class EventHub:
    """Fans out job events to subscriptions; start it lazily, stop it once."""

    def __init__(
        self, store: Store, *, backstop_s: float | None = None, probe_s: float | None = None
    ) -> None:
        """A hub over ``store``: a fetch on every wake-up hint, and at least every
        ``backstop_s``. Where the store's notifications do not cover every event (PostgreSQL
        notifies new and requeued jobs, not finishes or progress), the newest event's seq is
        also probed every ``probe_s`` (default 20 ms) while streams are open: one tiny query,
        whatever the number of streams."""
        self.store = store
        self.backstop_s = backstop_s or 1.0
        self.probe_s = probe_s or (0.02 if store.supports_listener else None)
        self._last_seq = -1
        self._lock = threading.Lock()
        self._subs: dict[str, set[Subscription]] = defaultdict(set)
        self._owners: dict[str, int] = defaultdict(int)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._closed = False
        self.fetches = 0
        """Event reads so far (tests and metrics watch this, not wall time)."""

    # --- subscriptions (called on the event loop) ----------------------------------------------
    def subscribe(self, job_id: str, after_seq: int, *, owner: str, cap: int) -> Subscription:
        """Watch ``job_id`` from ``after_seq``; TooManyStreams if ``owner`` holds ``cap``."""
        sub = Subscription(job_id, owner, after_seq, asyncio.get_running_loop())
        with self._lock:
            if self._owners[owner] >= cap:
                raise TooManyStreams(owner)
            self._owners[owner] += 1
            self._subs[job_id].add(sub)
            self._ensure_started()
        self._wake()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop watching (safe to call twice)."""
        with self._lock:
            subs = self._subs.get(sub.job_id)
            if subs is None or sub not in subs:
                return
            subs.discard(sub)
            if not subs:
                del self._subs[sub.job_id]
            self._owners[sub.owner] -= 1
            if self._owners[sub.owner] <= 0:
                del self._owners[sub.owner]

    def open_streams(self) -> int:
        """How many subscriptions are open."""
        with self._lock:
            return sum(len(s) for s in self._subs.values())

    def _ensure_started(self) -> None:
        if self._thread is None and not self._stop.is_set():
            self._thread = threading.Thread(
                target=self._run, name="pressroom-event-hub", daemon=True
            )
            self._thread.start()

    def _wake(self) -> None:
        # A full pipe means a wake-up is pending anyway; a closed one, that the hub is closed.
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def end_streams(self) -> None:
        """End every open stream and stop the thread without waiting (signal-handler safe)."""
        self._stop.set()
        self._wake()
        with self._lock:
            subs = [s for group in self._subs.values() for s in group]
        for sub in subs:
            _put(sub, END)

    def close(self) -> None:
        """End every open stream, stop the thread and wait for it."""
        self.end_streams()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._closed:
            return
        self._closed = True
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    # --- the thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        listener: Listener | None = None
        backoff = 0.1
        while not self._stop.is_set():
            try:
                if listener is None:
                    listener = self.store.listener()
                self._serve(listener)
                backoff = 0.1
            except Exception:
                log.exception("event hub: store failed; retrying in %.1f s", backoff)
                if listener is not None:
                    listener.close()
                    listener = None
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
        if listener is not None:
            listener.close()

    def _serve(self, listener: Listener) -> None:
        last_fetch = 0.0
        while not self._stop.is_set():
            fd = listener.fileno()
            with self._lock:
                watching = bool(self._subs)
            if not watching:
                timeout = 1.0
            elif self.probe_s is not None:
                timeout = self.probe_s
            else:
                timeout = self.backstop_s if fd is not None else listener.poll_interval_s
            fds = [self._wake_r] if fd is None else [self._wake_r, fd]
            woken = self._wake_r in readable(fds, timeout)
            if woken:
                os.read(self._wake_r, 4096)
            hinted = listener.poll()
            if watching and self.probe_s is not None:
                last = self.store.job_events_last_seq()
                hinted = hinted or last != self._last_seq
                self._last_seq = last
            due = time.monotonic() - last_fetch >= self.backstop_s
            if self._stop.is_set():
                return
            if (watching or woken) and (woken or hinted or due):
                last_fetch = time.monotonic()
                self._fetch_and_deliver()

    def _fetch_and_deliver(self) -> None:
        with self._lock:
            subs = {job: list(group) for job, group in self._subs.items() if group}
        if not subs:
            return
        after = min(s.cursor for group in subs.values() for s in group)
        while True:
            events = self.store.job_events_for(list(subs), after_seq=after, limit=_FETCH_LIMIT)
            self.fetches += 1
            for event in events:
                for sub in subs.get(event.job_id, ()):
                    if event.seq > sub.cursor:
                        sub.cursor = event.seq
                        _put(sub, event)
                    if is_terminal(event):
                        _put(sub, END)
            if len(events) < _FETCH_LIMIT:
                return
            after = events[-1].seq


def _put(sub: Subscription, item: JobEvent | None) -> None:
    with contextlib.suppress(RuntimeError):  # a closed loop: the stream is gone
        sub.loop.call_soon_threadsafe(sub.queue.put_nowait, item)
