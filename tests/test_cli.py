"""The command line: exit codes and output, through typer's CliRunner."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support import FIRST, ROOT, SPEC, edited
from tests.support.stubs import named
from vtlgen import __version__
from vtlgen.cli import app
from vtlgen.lower.convention import lower
from vtlgen.spec.loader import load

runner = CliRunner()
# The bound each generated stub must meet exactly, as the spec gives it (README "Instruction budget").
BOUNDS = {plan.convention_id: plan.budget.lower_bound for plan in lower(load(SPEC).spec, SPEC.name)}


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
    bound = BOUNDS["hvc3"]  # the generated stub meets the bound the spec gives, exactly
    assert f"hyperv_vtl/hvc3: {bound} instructions per round trip, lower bound {bound}" in result.output
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


@pytest.mark.parametrize("conv", ["hvc3", "smccc"])
def test_validate_generated_stubs(workdir: Path, conv: str) -> None:
    result = runner.invoke(app, ["validate", "--convention", conv, "--trials", "20"])
    assert result.exit_code == 0, result.output
    assert f"hyperv_vtl/{conv} [unicorn]" in result.output
    assert f"{BOUNDS[conv]} instructions per round trip (lower bound {BOUNDS[conv]})" in result.output
    assert "properties P1,P2,P3,P4,P5,P6,P7,P8,P9,P10" in result.output
    assert "at vector lengths 16, 48, 64, 256 bytes" in result.output
    assert "precondition SVCR.SM = 0 broken (entered in streaming mode) at VL 16, 48, 64, 256" in result.output
    trials_limits = [line for line in result.output.splitlines() if line.startswith("  not modelled")]
    assert trials_limits and not any("z_upper" in line or "p0-p15" in line for line in trials_limits)


def test_validate_at_chosen_vector_lengths(workdir: Path) -> None:
    result = runner.invoke(app, ["validate", "--convention", "hvc3", "--trials", "4", "--vector-length", "32",
                                 "--vector-length", "128", "--no-proof"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "at vector lengths 32, 128 bytes" in result.output
    for bad in ("40", "8", "512"):
        refused = runner.invoke(app, ["validate", "--vector-length", bad, "--no-proof"])
        assert refused.exit_code == 2 and "Traceback" not in refused.output, (bad, refused.output)


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


def test_validate_checks_what_generate_would_write_not_stale_files(workdir: Path) -> None:
    stub = workdir / "generated" / "hyperv_vtl" / "smccc" / "hyperv_vtl_smccc.S"
    stub.write_text(stub.read_text().replace("hvc    #0", "hvc    #3"))  # a stale, broken file
    assert runner.invoke(app, ["validate", "--stub", str(stub), "--convention", "smccc"]).exit_code == 1
    result = runner.invoke(app, ["validate", "--trials", "5"])
    assert result.exit_code == 0, result.output
    assert "generated/hyperv_vtl/smccc/hyperv_vtl_smccc.S: ok" in result.output
    shutil.rmtree(workdir / "generated")
    assert runner.invoke(app, ["validate", "--trials", "5"]).exit_code == 0  # nothing on disk needed


@pytest.mark.qemu
@pytest.mark.parametrize("conv", ["hvc3", "smccc"])
def test_validate_on_qemu_user(workdir: Path, conv: str) -> None:
    from tests.support import require_tool
    from vtlgen.validate.backends.qemu_user import TOOLS

    for tool, package in TOOLS.items():
        require_tool(tool, package)
    result = runner.invoke(app, ["validate", "--backend", "qemu-user", "--convention", conv, "--trials", "20"])
    assert result.exit_code == 0, result.output
    assert f"hyperv_vtl/{conv} [qemu-user]" in result.output
    assert "limit: P7" in result.output


def test_validate_on_qemu_user_without_tools(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(workdir))  # no cross tools here
    result = runner.invoke(app, ["validate", "--backend", "qemu-user", "--trials", "1"])
    assert result.exit_code == 2
    assert "install the Debian package" in result.output


def test_lint_default_spec(workdir: Path) -> None:
    result = runner.invoke(app, ["lint"])
    assert result.exit_code == 0, result.output
    assert "error[conduit-not-smccc] hvc3:" in result.output and "(waived:" in result.output
    assert "0 finding(s), 1 waived" in result.output
    assert runner.invoke(app, ["lint", "--fail-on", "warning"]).exit_code == 0


def test_lint_posted_fixture_fails_and_json_lists_findings(workdir: Path) -> None:
    posted = str(ROOT / "tests/data/hyperv_vtl_posted.yaml")
    result = runner.invoke(app, ["lint", posted, "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["ok"] is False
    rules = {row["rule"] for row in data["findings"]}
    assert {"conduit-not-smccc", "kernel-register-not-preserved", "unspecified-state", "steering-register-shared",
            "context-no-size-limit"} <= rules  # fmt: skip
    first = data["findings"][0]
    assert first["file"].endswith("hyperv_vtl_posted.yaml") and first["line"] > 1 and first["source"]


def test_lint_fail_on_warning(workdir: Path) -> None:
    spec = workdir / "spec" / "hyperv_vtl.yaml"
    text = spec.read_text()
    entry = text[text.index("  TRBLIMITR_EL1:\n") : text.index("\nconventions:")]
    spec.write_text(text.replace(entry, ""))
    assert runner.invoke(app, ["lint"]).exit_code == 0
    warned = runner.invoke(app, ["lint", "--fail-on", "warning"])
    assert warned.exit_code == 1 and "warning[steering-register-unclassified]" in warned.output


def test_lint_sarif_for_github_code_scanning(workdir: Path) -> None:
    posted = str(ROOT / "tests/data/hyperv_vtl_posted.yaml")
    result = runner.invoke(app, ["lint", "spec/hyperv_vtl.yaml", posted, "--format", "sarif"])
    assert result.exit_code == 1
    sarif = json.loads(result.output)
    assert sarif["version"] == "2.1.0" and sarif["$schema"].endswith("sarif-2.1.0.json")
    (run,) = sarif["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "vtlgen" and driver["version"]
    rule_ids = [rule["id"] for rule in driver["rules"]]
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning")
    for result_ in run["results"]:
        assert rule_ids[result_["ruleIndex"]] == result_["ruleId"]
        assert result_["level"] in ("error", "warning") and result_["message"]["text"]
        (location,) = result_["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"] in ("spec/hyperv_vtl.yaml", posted)
        assert physical["region"]["startLine"] >= 1 and physical["region"]["startColumn"] >= 1
    waived = [r for r in run["results"] if "suppressions" in r]
    assert len(waived) == 1 and waived[0]["suppressions"][0]["kind"] == "inSource"
    assert waived[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "spec/hyperv_vtl.yaml"


def test_diff_no_changes_and_bad_input(workdir: Path) -> None:
    same = runner.invoke(app, ["diff", "spec/hyperv_vtl.yaml", "spec/hyperv_vtl.yaml"])
    assert same.exit_code == 0 and "no ABI changes" in same.output
    assert runner.invoke(app, ["diff", "spec/hyperv_vtl.yaml", "nope.yaml"]).exit_code == 2
    assert runner.invoke(app, ["diff", "spec/hyperv_vtl.yaml"]).exit_code == 2


def test_oversized_context_cannot_be_generated(workdir: Path) -> None:
    spec = workdir / "spec" / "hyperv_vtl.yaml"
    spec.write_text(edited(spec.read_text(), "max_size: 1024", "max_size: 512"))
    result = runner.invoke(app, ["generate"])
    line = spec.read_text()[: spec.read_text().index("max_size: 512")].count("\n") + 1
    assert result.exit_code == 2
    assert result.output.startswith(f"spec/hyperv_vtl.yaml:{line}:13: context.max_size: the context is 768 bytes")
    assert runner.invoke(app, ["lint"]).exit_code == 1


def test_a_slot_out_of_reach_of_every_form_is_a_located_error(workdir: Path) -> None:
    spec = workdir / "spec" / "hyperv_vtl.yaml"
    text = edited(FIRST.read_text(), "  align: 16\n", "  align: 8\n")  # 1.0.0: Q lives in q[n]
    # 8-byte aligned is enough for C, but no scaled LDR/LDP of a Q register encodes offset 264.
    spec.write_text(
        edited(text, "{name: q, type: u128, count: 32, offset: 256}", "{name: q, type: u128, count: 32, offset: 264}")
    )
    before = {p: p.read_bytes() for p in (workdir / "generated").rglob("*") if p.is_file()}
    result = runner.invoke(app, ["generate"])
    assert result.exit_code == 2
    (line,) = result.output.splitlines()
    assert re.match(r"^spec/hyperv_vtl\.yaml:\d+:\d+: context\.fields: q0's slot at 264 is out of reach", line), line
    assert {p: p.read_bytes() for p in (workdir / "generated").rglob("*") if p.is_file()} == before


def test_generate_refuses_lint_errors_unless_told(workdir: Path) -> None:
    spec = workdir / "spec" / "hyperv_vtl.yaml"
    # x18 shared: the stub would load the shadow call stack pointer from the context.
    spec.write_text(
        edited(spec.read_text(), "  x18:\n    class: private\n", "  x18:\n    class: shared\n    slot: x[18]\n")
    )
    before = {p: p.read_bytes() for p in (workdir / "generated").rglob("*") if p.is_file()}
    refused = runner.invoke(app, ["generate"])
    assert refused.exit_code == 1
    assert "error[kernel-register-not-preserved]" in refused.output and "x18" in refused.output
    assert refused.output.startswith("spec/hyperv_vtl.yaml:") and "--allow-lint-errors" in refused.output
    assert {p: p.read_bytes() for p in (workdir / "generated").rglob("*") if p.is_file()} == before
    allowed = runner.invoke(app, ["generate", "--allow-lint-errors"])
    assert allowed.exit_code == 0, allowed.output
    assert "[x30, #144]" in (workdir / "generated/hyperv_vtl/hvc3/hyperv_vtl_hvc3.S").read_text()


def test_waived_lint_errors_do_not_block_generation(workdir: Path) -> None:
    # The default spec waives hvc3's non-SMCCC conduit: generate goes ahead.
    result = runner.invoke(app, ["generate"])
    assert result.exit_code == 0 and "refusing" not in result.output


def test_every_malformed_spec_case_exits_2_with_located_lines(workdir: Path) -> None:
    import re

    from tests.support.malformed_specs import CASES

    located = re.compile(r"^spec/hyperv_vtl\.yaml:\d+:\d+: \S+.*$")
    spec = workdir / "spec" / "hyperv_vtl.yaml"
    original = spec.read_text()
    for name, old, new, path, _ in CASES:
        spec.write_text(edited(original, old, new))
        result = runner.invoke(app, ["generate"])
        assert result.exit_code == 2, name
        lines = result.output.strip().splitlines()
        assert lines and all(located.match(line) for line in lines), (name, result.output)
        assert any(f": {path}: " in line for line in lines), (name, result.output)
        assert "Traceback" not in result.output


def test_unwritable_output_is_reported_without_traceback(workdir: Path) -> None:
    blocker = workdir / "blocked"
    blocker.write_text("a file where a folder should be\n")
    result = runner.invoke(app, ["generate", "--out", str(blocker)])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_doc_writes_the_page_that_generate_and_check_keep(workdir: Path, tmp_path: Path) -> None:
    page = workdir / "generated" / "hyperv_vtl" / "hyperv_vtl.rst"
    assert page.read_bytes() == (ROOT / "generated" / "hyperv_vtl" / "hyperv_vtl.rst").read_bytes()
    result = runner.invoke(app, ["doc"])
    assert result.exit_code == 0 and "generated: up to date" in result.output, result.output
    page.unlink()
    assert runner.invoke(app, ["check"]).exit_code == 1
    result = runner.invoke(app, ["doc"])
    assert result.exit_code == 0 and "added    generated/hyperv_vtl/hyperv_vtl.rst" in result.output
    assert runner.invoke(app, ["check"]).exit_code == 0
    # Elsewhere, doc writes the page and nothing else.
    out = tmp_path / "docs"
    assert runner.invoke(app, ["doc", "spec/hyperv_vtl.yaml", "--out", str(out)]).exit_code == 0
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["hyperv_vtl/.vtlgen-manifest", "hyperv_vtl/hyperv_vtl.rst"]  # the page, and proof it is vtlgen's
    assert (out / "hyperv_vtl" / "hyperv_vtl.rst").read_bytes() == page.read_bytes()


def test_spec_prose_change_makes_the_page_stale(workdir: Path) -> None:
    spec = workdir / "spec" / "hyperv_vtl.yaml"
    spec.write_text(edited(spec.read_text(), "follows: tlfs-vsm\n", "follows: linux-v2\n"))
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 1 and "changed  generated/hyperv_vtl/hyperv_vtl.rst" in result.output
    assert "+Follows [linux-v2]" in result.output


def test_doc_bad_input_writes_nothing(workdir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(edited((workdir / "spec" / "hyperv_vtl.yaml").read_text(), "abi_version: 2.0.0", "abi_version: 2"))
    out = tmp_path / "docs"
    result = runner.invoke(app, ["doc", str(bad), "--out", str(out)])
    assert result.exit_code == 2 and f"{bad}:" in result.output and "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize("command", [[], ["generate"], ["validate"], ["check"], ["lint"], ["diff"], ["doc"], ["prove"]])
def test_help_shows_flags_without_a_value_type(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and "--help" in result.output
    assert "<bool>" not in result.output and "BOOLEAN" not in result.output


def test_validate_includes_the_proof_unless_turned_off(workdir: Path) -> None:
    result = runner.invoke(app, ["validate", "--trials", "5"])
    assert result.exit_code == 0, result.output
    assert "hyperv_vtl/smccc [proof]" in result.output and "PROVED" in result.output
    # hvc3 moves SVE state: proved at every architectural VL.
    assert "hyperv_vtl/hvc3 [proof]" in result.output and "proof not run" not in result.output
    result = runner.invoke(app, ["validate", "--trials", "5", "--no-proof"])
    assert result.exit_code == 0 and "[proof]" not in result.output
    assert "note: proof not run (--no-proof): this verdict rests on sampling alone" in result.output


def test_prove_generated_stubs(workdir: Path) -> None:
    result = runner.invoke(app, ["prove", str(FIRST)])  # 1.0.0: no SVE in either stub
    assert result.exit_code == 0, result.output
    assert result.output.count(": PROVED; 1 path(s)") == 2
    result = runner.invoke(app, ["prove"])  # 2.0.0: hvc3 moves Z, P and FFR with SVE instructions
    assert result.exit_code == 0, result.output
    assert "hyperv_vtl/hvc3 [proof]" in result.output and "UNPROVEN" not in result.output
    assert result.output.count(": PROVED; 1 path(s)") == 2
    assert result.output.count("vector lengths: 16, 32, 48, 64, 80,") == 2
    data = json.loads(runner.invoke(app, ["prove", "--convention", "smccc", "--format", "json"]).output)
    (report,) = data["reports"]
    assert data["ok"] is True and report["verdict"] == "PROVED" and report["backend"] == "proof"


def test_prove_counterexample_replays_in_validate(workdir: Path) -> None:
    stub = named("hvc3_p2_leak_callee_saved").write(workdir)
    args = [str(FIRST), "--convention", "hvc3", "--stub", str(stub)]
    result = runner.invoke(app, ["prove", *args, "--counterexamples", "cex"])
    assert result.exit_code == 1 and "VIOLATED" in result.output and "P2 VTL0 would see" in result.output
    files = sorted((workdir / "cex").glob("*.json"))
    assert [f.name for f in files] == ["hyperv_vtl-hvc3-00-P2.json", "hyperv_vtl-hvc3-01-P2.json"]
    replayed = runner.invoke(app, ["validate", *args, "--replay", str(files[0]), "--format", "json"])
    assert replayed.exit_code == 1
    (report,) = json.loads(replayed.output)["reports"]
    assert report["backend"] == "unicorn-replay" and {v["property"] for v in report["violations"]} == {"P2"}


def test_prove_and_replay_bad_input_exit_2(workdir: Path) -> None:
    assert runner.invoke(app, ["prove", "--convention", "nope"]).exit_code == 2
    bad = workdir / "bad.json"
    bad.write_text("{}")
    result = runner.invoke(app, ["validate", "--convention", "smccc", "--replay", str(bad)])
    assert result.exit_code == 2 and result.output.startswith(f"{bad.as_posix()}:1:1: replay: format")
    stub = named("hvc3_p2_leak_callee_saved").write(workdir)
    runner.invoke(app, ["prove", "--convention", "hvc3", "--stub", str(stub), "--counterexamples", "cex"])
    other = runner.invoke(app, ["validate", "--convention", "smccc", "--replay", "cex/hyperv_vtl-hvc3-00-P2.json"])
    assert other.exit_code == 2 and "the file is for hyperv_vtl/hvc3" in other.output
