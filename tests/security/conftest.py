"""The attack tests' fixture: a working folder shaped like a checkout, with a host secret beside it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.host_secret import SECRET


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
