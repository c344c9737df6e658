"""The conformance suite runs every test once per store driver."""

from __future__ import annotations

import pytest

from tests.conftest import STORE_KINDS


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise ``store`` and ``store_url`` over every driver."""
    for name in ("store", "store_url"):
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, STORE_KINDS, indirect=True)
