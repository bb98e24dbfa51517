"""The ABI-change loop, end to end: edit the spec -> diff -> check fails -> generate -> validate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support import DATA, ROOT, edited
from vtlgen.cli import app

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A downstream project: a spec, its committed generated/ and the old revision kept aside."""
    shutil.copytree(ROOT / "spec", tmp_path / "spec")
    shutil.copytree(ROOT / "generated", tmp_path / "generated")
    shutil.copy(ROOT / "spec" / "hyperv_vtl.yaml", tmp_path / "old.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _loop(project: Path, expect_stale: list[str]) -> None:
    check = runner.invoke(app, ["check"])
    assert check.exit_code == 1
    for name in expect_stale:
        assert f"changed  generated/hyperv_vtl/{name}" in check.output
    assert "fix with: vtlgen generate" in check.output
    assert runner.invoke(app, ["generate"]).exit_code == 0
    assert runner.invoke(app, ["check"]).exit_code == 0
    validate = runner.invoke(app, ["validate", "--trials", "30"])
    assert validate.exit_code == 0, validate.output


def test_register_class_change_goes_round_the_loop(project: Path) -> None:
    spec = project / "spec" / "hyperv_vtl.yaml"
    text = edited(
        spec.read_text(),
        "  x0-x17:\n    class: shared\n    slot: x[0]\n    sources: [tlfs-vsm]\n",
        "  x0-x16:\n    class: shared\n    slot: x[0]\n    sources: [tlfs-vsm]\n  x17:\n    class: clobbered\n"
        "    saved_by: caller\n",
    )
    spec.write_text(text)
    # A breaking change without a major bump is refused ...
    refused = runner.invoke(app, ["diff", "old.yaml", "spec/hyperv_vtl.yaml"])
    assert refused.exit_code == 1
    assert "breaking   x17 class: shared -> clobbered" in refused.output and "NOT OK" in refused.output
    # ... and accepted with one.
    spec.write_text(edited(text, "abi_version: 2.0.0", "abi_version: 3.0.0"))
    accepted = runner.invoke(app, ["diff", "old.yaml", "spec/hyperv_vtl.yaml", "--format", "json"])
    assert accepted.exit_code == 0 and json.loads(accepted.output)["required_bump"] == "major"
    _loop(project, ["hvc3/hyperv_vtl_hvc3.S", "hvc3/hyperv_vtl_hvc3.py", "smccc/hyperv_vtl_smccc.h"])
    # x17 is no longer moved: x16 goes alone, ctx still rides in x30.
    stub = (project / "generated/hyperv_vtl/hvc3/hyperv_vtl_hvc3.S").read_text()
    assert "#136]" not in stub and "ldr    x16, [x30, #128]" in stub and "mov    x30, x0" in stub


def _start_at_1_0_0(project: Path) -> None:
    """The project as it was at ABI 1.0.0: that spec, old.yaml, and its generated files."""
    shutil.copy(DATA / "hyperv_vtl_1.0.0.yaml", project / "spec" / "hyperv_vtl.yaml")
    shutil.copy(DATA / "hyperv_vtl_1.0.0.yaml", project / "old.yaml")
    assert runner.invoke(app, ["generate"]).exit_code == 0


def _trials_not_modelled(report: str) -> str:
    return "\n".join(line for line in report.splitlines() if line.startswith("  not modelled"))


def test_sve_aware_revision_goes_round_the_loop(project: Path) -> None:
    _start_at_1_0_0(project)
    shutil.copy(DATA / "hyperv_vtl_sve.yaml", project / "spec" / "hyperv_vtl.yaml")
    diff = runner.invoke(app, ["diff", "old.yaml", "spec/hyperv_vtl.yaml"])
    assert diff.exit_code == 0, diff.output
    assert "compatible ZCR_EL1: - -> private" in diff.output and "minor bump" in diff.output
    assert runner.invoke(app, ["lint"]).exit_code == 0
    _loop(project, ["hvc3/hyperv_vtl_hvc3.py", "smccc/hyperv_vtl_smccc.S"])
    report = runner.invoke(app, ["validate", "--trials", "6"]).output  # one trial per VL of the matrix
    # What runs where: SVE/SME state at every vector length; system registers by lint only.
    assert "at vector lengths 16, 32, 48, 64, 128, 256 bytes" in report
    not_modelled = _trials_not_modelled(report)
    assert "ZCR_EL1" in not_modelled and "zt0" in not_modelled and "z_upper" not in not_modelled


def test_the_2_0_0_revision_goes_round_the_loop(project: Path) -> None:
    """The real revision: from 1.0.0 to the SVE-aware 2.0.0 that spec/ holds."""
    _start_at_1_0_0(project)
    shutil.copy(ROOT / "spec" / "hyperv_vtl.yaml", project / "spec" / "hyperv_vtl.yaml")
    diff = runner.invoke(app, ["diff", "old.yaml", "spec/hyperv_vtl.yaml"])
    assert diff.exit_code == 0, diff.output
    assert "major bump" in diff.output and "breaking   q0-q31 slot: q[0..31] -> z[0..31]" in diff.output
    assert runner.invoke(app, ["lint"]).exit_code == 0
    _loop(project, ["hvc3/hyperv_vtl_hvc3.S", "hvc3/hyperv_vtl_hvc3.h", "smccc/hyperv_vtl_smccc.h"])
    stub = (project / "generated/hyperv_vtl/hvc3/hyperv_vtl_hvc3.S").read_text()
    assert "mul vl]" in stub and "wrffr" in stub and "rdffr" in stub
    for path in (ROOT / "generated" / "hyperv_vtl").rglob("*.*"):  # the committed golden set, byte for byte
        assert (project / path.relative_to(ROOT)).read_bytes() == path.read_bytes()
