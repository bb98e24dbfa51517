"""Shared fixtures, and the rule that a tool marker makes a test an integration test. What
test modules import (paths, helpers) lives in tests/support/."""

from __future__ import annotations

import pytest

from tests.support import SPEC

# The markers (registered in pyproject.toml) for what a test needs outside Python.
INTEGRATION_NEEDS = frozenset({"qemu", "kernel", "toolchain", "browser", "sphinx", "wheel"})


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects, so `-m "not integration"` sees the mark
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(item.get_closest_marker(name) for name in INTEGRATION_NEEDS):
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def spec_text() -> str:
    return SPEC.read_text()
