"""Shared fixtures. What test modules import (paths, helpers) lives in tests/support/."""

from __future__ import annotations

import pytest

from tests.support import SPEC


@pytest.fixture
def spec_text() -> str:
    return SPEC.read_text()
