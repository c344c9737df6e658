"""Chaos tests: real worker processes killed and databases restarted while jobs run."""

from __future__ import annotations

import pytest


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each test on SQLite and on PostgreSQL unless it chooses its store itself."""
    marked = any(m.name == "parametrize" for m in metafunc.definition.iter_markers())
    if "store_url" in metafunc.fixturenames and not marked:
        metafunc.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
