"""The queue benchmark's report keeps what other benchmarks and people wrote into RESULTS.md."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import report


def test_kept_sections_carry_the_notes_after_each_section() -> None:
    old = (
        "## Queues\n\nold table\n\n### Reading the queue numbers\n\nold queue notes\n\n"
        "<!-- section:http -->\n## HTTP\n\nhttp table\n<!-- /section -->\n\n"
        "### Reading the HTTP numbers\n\n- http notes\n\n"
        "<!-- section:other -->\nother table\n<!-- /section -->\nother notes\n"
    )
    kept = report.kept_sections(old)
    assert "old queue notes" not in kept  # the queue section and its notes are rewritten
    assert kept.count("http table") == 1 and kept.count("- http notes") == 1
    assert kept.index("http table") < kept.index("- http notes") < kept.index("other table")
    assert kept.rstrip().endswith("other notes")


def test_a_section_without_its_end_marker_is_not_kept() -> None:
    assert report.kept_sections("intro\n<!-- section:http -->\nhalf written") == ""
