"""The client's Server-Sent Events parser, on streams written by hand."""

from __future__ import annotations

from pressroom.client._sse import EventParser


def test_events_are_split_on_blank_lines_and_json_is_decoded() -> None:
    """Each blank line ends one event; JSON data is decoded, ids and types are kept."""
    lines = [
        "id: 1",
        "event: status",
        'data: {"status": "running"}',
        "",
        "id: 2",
        "event: progress",
        'data: {"percent": 50}',
        "",
    ]
    events = list(EventParser().feed(lines))
    assert [(e.id, e.event, e.data) for e in events] == [
        ("1", "status", {"status": "running"}),
        ("2", "progress", {"percent": 50}),
    ]


def test_comments_are_ignored_and_multiline_data_is_joined() -> None:
    """Heartbeat comments produce no event; several data lines join with newlines."""
    parser = EventParser()
    events = list(parser.feed([": heartbeat", "", "data: a", "data: b", ""]))
    assert len(events) == 1
    assert events[0].data == "a\nb"
    assert events[0].event == "message"


def test_last_event_id_tracks_the_newest_id_for_resuming() -> None:
    """``last_event_id`` is the id of the most recent complete event, as a resume needs."""
    parser = EventParser()
    list(parser.feed(["id: 7", "data: {}", "", "id: 8", "data: {}"]))
    assert parser.last_event_id == "7"
    parser.feed_line("")
    assert parser.last_event_id == "8"


def test_crlf_line_endings_and_missing_space_after_colon() -> None:
    """CRLF endings and ``data:value`` without a space parse like the plain form."""
    events = list(EventParser().feed(["event:status\r\n", 'data:{"status":"failed"}\r\n', "\r\n"]))
    assert events[0].event == "status"
    assert events[0].data == {"status": "failed"}
