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


def require_file(path: Path, package: str) -> Path:
    """A file a Debian package installs (a tarball, a header): as require_tool."""
    if path.exists():
        return path
    if IN_CI:
        pytest.fail(f"{path} is missing in CI; .ci/run must install the Debian package {package}")
    pytest.skip(f"{path} not found; install the Debian package {package}")
