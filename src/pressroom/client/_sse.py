"""An incremental parser for a ``text/event-stream`` body (the WHATWG Server-Sent Events format)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    """One Server-Sent Event: its id, its type and its data (parsed as JSON when it is JSON)."""

    id: str | None
    event: str
    data: Any


class EventParser:
    """Feed it lines of an event stream; it yields each complete event once its blank line arrives.

    Comment lines (``: heartbeat``) and unknown fields are ignored. ``last_event_id`` keeps the
    most recent id seen, which is what a reconnecting client sends as ``Last-Event-ID``.
    """

    def __init__(self) -> None:
        """Start with no partial event."""
        self.last_event_id: str | None = None
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None

    def feed(self, lines: Iterable[str]) -> Iterator[Event]:
        """Yield the events that ``lines`` complete."""
        for line in lines:
            event = self.feed_line(line)
            if event is not None:
                yield event

    def feed_line(self, line: str) -> Event | None:
        """Take one line (without its end-of-line); return the event it completes, if any."""
        line = line.rstrip("\r\n")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        return None

    def _dispatch(self) -> Event | None:
        if self._id is not None:
            self.last_event_id = self._id
        if not self._data:
            self._event, self._id = "", None
            return None
        raw = "\n".join(self._data)
        try:
            data: Any = json.loads(raw)
        except ValueError:
            data = raw
        event = Event(id=self._id, event=self._event or "message", data=data)
        self._data, self._event, self._id = [], "", None
        return event
