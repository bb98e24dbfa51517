"""Shared fixtures: the real spec, and helpers to make edited copies of it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec" / "hyperv_vtl.yaml"
DATA = Path(__file__).resolve().parent / "data"
IN_CI = os.environ.get("CI", "").lower() == "true"

# The hvc3 stub carries ctx across the trap in x30: private per VTL (TLFS), with the entry
# x30 held in the live frame record. Issue 9's P3 accepts that; until it is merged, the
# validator flags the write. Remove this marker (and its uses) once issue 9 is in.
NEEDS_X30_SCRATCH = pytest.mark.xfail(strict=True, reason="needs issue-9 P3: x30 scratch with a live record")
HVC3 = pytest.param("hvc3", marks=NEEDS_X30_SCRATCH)


@pytest.fixture
def spec_text() -> str:
    return SPEC.read_text()


def edited(text: str, old: str, new: str) -> str:
    """Replace exactly one occurrence, so a test never silently edits nothing."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def require_tool(name: str, package: str) -> str:
    """A tool outside Python: skip outside CI with the Debian package named; fail in CI."""
    path = shutil.which(name)
    if path:
        return path
    if IN_CI:
        pytest.fail(f"{name} is missing in CI; .ci/run must install the Debian package {package}")
    pytest.skip(f"{name} not found; install the Debian package {package}")
