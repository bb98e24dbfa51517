"""Shared pieces of the attack tests: a working folder shaped like a checkout, and the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT, invoke

__all__ = ["SECRET", "assert_no_secret", "checkout", "invoke"]

SECRET = "vtlgen-test-secret-7f3a9c"  # planted in host files and the environment; must never come out


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of spec/ and generated/ with a host secret beside it, as a CI checkout would have."""
    work = tmp_path / "checkout"
    work.mkdir()
    shutil.copytree(ROOT / "spec", work / "spec")
    shutil.copytree(ROOT / "generated", work / "generated")
    (work / ".git").mkdir()
    (work / ".git" / "config").write_text(f"[http]\n\textraheader = AUTHORIZATION: basic {SECRET}\n")
    monkeypatch.chdir(work)
    monkeypatch.setenv("VTLGEN_TEST_TOKEN", SECRET)
    return work


def assert_no_secret(text: str) -> None:
    assert SECRET not in text
    assert "root:x:0:0" not in text  # /etc/passwd
