"""A new user's trial, end to end: a fresh clone, user files in the output, careless input.

Every command must end with a clear exit code, never a traceback, and never touch a file
vtlgen did not write.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.support import ROOT, invoke


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "spec", tmp_path / "spec")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _user_files(out: Path) -> dict[Path, str]:
    files = {
        out / "hyperv_vtl" / "README.user": "my notes\n",
        out / "hyperv_vtl" / "hvc3" / "my_wrapper.c": "int wrapper;\n",
        out / "hyperv_vtl" / "mydir" / "keep.txt": "keep\n",
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return files


def test_a_new_users_session(project: Path) -> None:
    out = project / "out"
    user = _user_files(out)

    refused = invoke("generate", "--out", "out")
    assert refused.exit_code == 2
    for path in user:
        assert f"error: {path.relative_to(project).as_posix()}: not vtlgen's" in refused.output
    checked = invoke("check", "--out", "out")
    assert checked.exit_code == 2 and "not vtlgen's" in checked.output and "stale" not in checked.output

    fresh = invoke("generate", "--out", "fresh")
    assert fresh.exit_code == 0 and "added" in fresh.output
    assert invoke("check", "--out", "fresh").exit_code == 0
    assert invoke("generate", "--out", "fresh").output.strip().endswith("fresh: up to date")
    assert invoke("validate", "--out", "fresh", "--trials", "20").exit_code == 0

    broken = project / "broken.S"
    broken.write_text("\thint #34\n\thvc #3\n\tret\n")
    result = invoke("validate", "--convention", "hvc3", "--stub", "broken.S", "--trials", "5")
    assert result.exit_code == 1 and "P1" in result.output

    for arguments in (
        ["validate", "--convention", "hvc3", "--stub", "missing.S"],
        ["validate", "--convention", "nope"],
        ["check", "--out", "spec/hyperv_vtl.yaml"],
        ["generate", "--out", "spec/hyperv_vtl.yaml"],
        ["lint", "missing.yaml"],
        ["diff", "spec/hyperv_vtl.yaml", "missing.yaml"],
    ):
        result = invoke(*arguments)
        assert result.exit_code == 2, (arguments, result.output)
        assert all(re.match(r"^(error: |\S+:\d+:\d+: )", line) for line in result.output.strip().splitlines()), (
            arguments,
            result.output,
        )

    for path, text in user.items():
        assert path.read_text() == text


def test_check_into_a_file_names_the_problem(project: Path) -> None:
    result = invoke("check", "--out", "spec/hyperv_vtl.yaml")
    assert result.exit_code == 2
    assert result.output.strip() == "error: spec/hyperv_vtl.yaml: the output folder is a file; name a folder with --out"
    assert "a//" not in result.output
