"""The pre-commit hooks that downstream projects use run vtlgen commands that exist and pass."""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from tests.support import ROOT
from vtlgen.cli import app

HOOKS = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text())


def test_the_three_hooks_are_shipped() -> None:
    assert [hook["id"] for hook in HOOKS] == ["vtlgen-lint", "vtlgen-check", "vtlgen-validate"]
    for hook in HOOKS:
        assert hook["language"] == "python" and hook["entry"].startswith("vtlgen ")


@pytest.mark.parametrize("hook", [pytest.param(hook, id=str(hook["id"])) for hook in HOOKS])
def test_hook_passes_on_this_project(hook: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "spec", tmp_path / "spec")
    shutil.copytree(ROOT / "generated", tmp_path / "generated")
    monkeypatch.chdir(tmp_path)
    args = shlex.split(str(hook["entry"]))[1:]
    if hook.get("pass_filenames", True):
        args.append("spec/hyperv_vtl.yaml")  # what pre-commit passes for a changed spec
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
