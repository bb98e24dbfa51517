"""The command line: exit codes and output, through typer's CliRunner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import ROOT, SPEC, edited
from tests.stubs import named
from vtlgen import __version__
from vtlgen.cli import app

runner = CliRunner()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project's spec/ and generated/ to run commands in."""
    shutil.copytree(ROOT / "spec", tmp_path / "spec")
    shutil.copytree(ROOT / "generated", tmp_path / "generated")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"vtlgen {__version__}"


def test_show_prints_the_hyperv_tables(workdir: Path) -> None:
    result = runner.invoke(app, ["show"])
    assert result.exit_code == 0, result.output
    for words in (
        "x0-x17",
        "shared",
        "x18",
        "private",
        "z_upper",
        "clobbered",
        "mshv_vtl_cpu_context: 768 bytes",
        "q",
        "256",
        "__mshv_vtl_return_call_smccc",
        "0x46000001",
        "hvc #3 (0xd4000062)",
    ):
        assert words in result.output


def test_schema_is_json_schema() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["additionalProperties"] is False
    assert {"id", "context", "registers", "conventions"} <= set(schema["required"])


def test_bad_spec_exits_2_with_one_located_line(workdir: Path) -> None:
    bad = workdir / "spec" / "hyperv_vtl.yaml"
    bad.write_text(edited(bad.read_text(), "  align: 16\n", "  align: 16\n  colour: red\n"))
    before = {p: p.read_bytes() for p in (workdir / "generated").rglob("*") if p.is_file()}
    for command in (["show"], ["generate"], ["check"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, (command, result.output)
        assert result.output.strip().startswith("spec/hyperv_vtl.yaml:")
        assert "context.colour: unknown key" in result.output
        assert "Traceback" not in result.output
    after = {p: p.read_bytes() for p in (workdir / "generated").rglob("*") if p.is_file()}
    assert before == after  # nothing half-written


def test_missing_spec_and_usage_errors_exit_2(workdir: Path) -> None:
    assert runner.invoke(app, ["show", "nope.yaml"]).exit_code == 2
    assert runner.invoke(app, ["show", "--bogus"]).exit_code == 2
    shutil.rmtree(workdir / "spec")
    result = runner.invoke(app, ["show"])
    assert result.exit_code == 2 and "no spec given" in result.output


def test_generate_then_check(workdir: Path) -> None:
    shutil.rmtree(workdir / "generated")
    result = runner.invoke(app, ["generate"])
    assert result.exit_code == 0, result.output
    assert "added    generated/hyperv_vtl/hvc3/hyperv_vtl_hvc3.S" in result.output
    assert "hyperv_vtl/hvc3: 88 instructions per round trip, lower bound 88" in result.output
    assert runner.invoke(app, ["check"]).exit_code == 0
    again = runner.invoke(app, ["generate"])
    assert again.exit_code == 0 and "up to date" in again.output
    # the same bytes as the committed golden set
    for path in (ROOT / "generated" / "hyperv_vtl").rglob("*.*"):
        assert (workdir / path.relative_to(ROOT)).read_bytes() == path.read_bytes()


def test_edited_spec_makes_check_fail_naming_stale_files(workdir: Path) -> None:
    spec = workdir / "spec" / "hyperv_vtl.yaml"
    spec.write_text(edited(spec.read_text(), "{register: x1, value: 0x12,", "{register: x1, value: 0x11,"))
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 1
    assert "changed  generated/hyperv_vtl/smccc/hyperv_vtl_smccc.S" in result.output
    assert "changed  generated/hyperv_vtl/smccc/hyperv_vtl_smccc.h" in result.output
    assert "hvc3" not in result.output.split("stale generated files:")[1]
    assert "-\tmovz   x1, #0x12" in result.output and "+\tmovz   x1, #0x11" in result.output
    assert "fix with: vtlgen generate" in result.output
    assert runner.invoke(app, ["generate"]).exit_code == 0
    assert runner.invoke(app, ["check"]).exit_code == 0


def test_out_option_and_explicit_spec(tmp_path: Path) -> None:
    out = tmp_path / "elsewhere"
    result = runner.invoke(app, ["generate", str(SPEC), "--out", str(out)])
    assert result.exit_code == 0, result.output
    for path in (ROOT / "generated" / "hyperv_vtl").rglob("*.*"):
        assert (out / path.relative_to(ROOT / "generated")).read_bytes() == path.read_bytes()
    result = runner.invoke(app, ["check", str(SPEC), "--out", str(tmp_path / "empty")])
    assert result.exit_code == 1 and f"--out {tmp_path.as_posix()}/empty" in result.output


def test_validate_generated_stubs(workdir: Path) -> None:
    result = runner.invoke(app, ["validate", "--trials", "20"])
    assert result.exit_code == 0, result.output
    assert "hyperv_vtl/hvc3 [unicorn]" in result.output and "hyperv_vtl/smccc [unicorn]" in result.output
    assert "88 instructions per round trip (lower bound 88)" in result.output
    assert "properties P1,P2,P3,P4,P5,P6,P7,P8,P9,P10" in result.output


def test_validate_hand_written_stub_json(workdir: Path) -> None:
    built = named("smccc_p9_not_smccc")
    stub = built.write(workdir)
    line = built.text.split("\n").index("\thvc    #3") + 1
    args = ["validate", "spec/hyperv_vtl.yaml", "--convention", "smccc", "--stub", str(stub), "--trials", "5"]
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["ok"] is False
    (violation,) = data["reports"][0]["violations"]
    assert violation["property"] == "P9" and violation["disassembly"] == "hvc #3"
    assert violation["source_line"] == line and violation["seed"] == 0
    text = runner.invoke(app, args)
    assert text.exit_code == 1 and "P9 wrong conduit" in text.output and f"smccc_p9_not_smccc.S:{line}" in text.output


def test_validate_bad_input_exits_2(workdir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.S"
    empty.write_text("ldp x1, x1, [x0]\n")  # keystone silently emits nothing for this
    result = runner.invoke(app, ["validate", "--convention", "smccc", "--stub", str(empty)])
    assert result.exit_code == 2 and "assembled to nothing" in result.output
    assert runner.invoke(app, ["validate", "--stub", str(empty)]).exit_code == 2  # which convention?
    assert runner.invoke(app, ["validate", "--convention", "nope"]).exit_code == 2
    assert runner.invoke(app, ["validate", "--trials", "0"]).exit_code == 2
    shutil.rmtree(workdir / "generated")
    missing = runner.invoke(app, ["validate"])
    assert missing.exit_code == 2 and "run `vtlgen generate` first" in missing.output


def test_validate_on_qemu_user(workdir: Path) -> None:
    from tests.conftest import require_tool
    from vtlgen.qemu_backend import TOOLS

    for tool, package in TOOLS.items():
        require_tool(tool, package)
    result = runner.invoke(app, ["validate", "--backend", "qemu-user", "--trials", "20"])
    assert result.exit_code == 0, result.output
    assert "hyperv_vtl/hvc3 [qemu-user]" in result.output and "hyperv_vtl/smccc [qemu-user]" in result.output
    assert "limit: P7" in result.output


def test_validate_on_qemu_user_without_tools(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(workdir))  # no cross tools here
    result = runner.invoke(app, ["validate", "--backend", "qemu-user", "--trials", "1"])
    assert result.exit_code == 2
    assert "install the Debian package" in result.output
