"""Edits of the default spec that a hypervisor vendor would make, each next to its expected output.

Every variant in tests/data/variants/NAME.yaml generates exactly the files in NAME/, every stub
sits exactly at its instruction bound, and keystone, GNU as, llvm-mc and gcc (kernel flavour)
agree on its bytes. Regenerate a golden folder with
`vtlgen generate tests/data/variants/NAME.yaml --out tests/data/variants --allow-lint-errors`.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support import DATA, require_tool
from tests.support.toolchains import ASSEMBLERS, FLAGS, assemble_with, compile_kernel_flavour
from vtlgen.cli import app
from vtlgen.generate import artifacts, render, sync
from vtlgen.spec.lint import lint
from vtlgen.spec.loader import load
from vtlgen.validate.run import validate

VARIANTS = DATA / "variants"
NAMES = sorted(p.stem for p in VARIANTS.glob("*.yaml"))
# Lint errors each variant is expected to have (and so needs --allow-lint-errors).
LINT_ERRORS = {"variant_smc32": {"smc32-wide-argument"}}
# Instructions per round trip, each equal to its bound: hvc3 at 85 like the default spec
# (a biased carrier costs nothing extra), 86 where two base windows are needed.
COUNTS = {
    ("variant_2k", "hvc3"): 86,
    ("variant_extra_args", "smccc"): 14,
    ("variant_odd_runs", "hvc3"): 85,
    ("variant_q_at_1024", "hvc3"): 85,
    ("variant_reordered", "hvc3"): 85,
    ("variant_smc32", "smccc"): 10,
    ("variant_smc_sip", "smccc"): 10,
    ("variant_x_at_512", "hvc3"): 85,
}


def _built(name: str) -> list[artifacts.ConventionArtifacts]:
    return artifacts.build(load(VARIANTS / f"{name}.yaml"))


def _golden(name: str) -> dict[str, str]:
    folder = VARIANTS / name
    return {p.relative_to(VARIANTS).as_posix(): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", NAMES)
def test_variant_generates_its_golden_files(name: str) -> None:
    loaded = load(VARIANTS / f"{name}.yaml")
    files = sync.with_manifest(loaded.spec.id, artifacts.merged(loaded, artifacts.build(loaded)))
    assert files == _golden(name), f"stale: regenerate {name}/ (see module docstring)"


@pytest.mark.parametrize("name", NAMES)
def test_every_variant_stub_sits_exactly_at_its_bound(name: str) -> None:
    for item in _built(name):
        plan = item.plan
        assert item.instruction_count == plan.budget.lower_bound, plan.convention_id
        expected = COUNTS.get((name, plan.convention_id), 85 if plan.convention_id == "hvc3" else 10)
        assert item.instruction_count == expected, plan.convention_id


def test_the_table_of_counts_names_real_variants() -> None:
    assert {name for name, _ in COUNTS} <= set(NAMES) and len(NAMES) >= 6


@pytest.mark.parametrize("name", NAMES)
def test_variant_lint_findings_are_the_expected_ones(name: str) -> None:
    loaded = load(VARIANTS / f"{name}.yaml")
    errors = {f.rule for f in lint(loaded.spec, loaded.tree) if f.severity == "error" and not f.waived}
    assert errors == LINT_ERRORS.get(name, set())


def test_generate_refuses_the_smc32_variant_without_the_override(tmp_path: Path) -> None:
    spec = str(VARIANTS / "variant_smc32.yaml")
    refused = CliRunner().invoke(app, ["generate", spec, "--out", str(tmp_path)])
    assert refused.exit_code == 1 and "smc32-wide-argument" in refused.output
    assert not any(tmp_path.iterdir())
    allowed = CliRunner().invoke(app, ["generate", spec, "--out", str(tmp_path), "--allow-lint-errors"])
    assert allowed.exit_code == 0, allowed.output


def _stubs() -> list[tuple[str, str]]:
    return [(name, c.id) for name in NAMES for c in load(VARIANTS / f"{name}.yaml").spec.conventions]


def _stub_path(name: str, conv: str, flavour: str) -> Path:
    (plan,) = [item.plan for item in _built(name) if item.plan.convention_id == conv]
    return VARIANTS / name / conv / render.file_names(plan)[flavour]


@pytest.mark.toolchain
@pytest.mark.parametrize("assembler", sorted(ASSEMBLERS))
@pytest.mark.parametrize(("name", "conv"), _stubs())
def test_real_assemblers_agree_with_keystone(tmp_path: Path, name: str, conv: str, assembler: str) -> None:
    (item,) = [i for i in _built(name) if i.plan.convention_id == conv]
    assert assemble_with(assembler, _stub_path(name, conv, "standalone"), tmp_path) == item.code


@pytest.mark.toolchain
@pytest.mark.parametrize(("name", "conv"), _stubs())
def test_kernel_flavour_agrees_with_keystone(tmp_path: Path, name: str, conv: str) -> None:
    """Biased bases appear as `#(MACRO - bias)`: the asm-offsets macros still give every offset."""
    (item,) = [i for i in _built(name) if i.plan.convention_id == conv]
    assert compile_kernel_flavour(item.plan, _stub_path(name, conv, "linux").parent, tmp_path) == item.code


@pytest.mark.toolchain
@pytest.mark.parametrize(("name", "conv"), _stubs())
def test_variant_header_compiles_with_its_layout_checks(tmp_path: Path, name: str, conv: str) -> None:
    """The header's static asserts hold the offsets and the size within max_size, 2 KiB included."""
    gcc = require_tool("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu")
    source = tmp_path / "t.c"
    source.write_text(f'#include "{_stub_path(name, conv, "header")}"\nint f(void);\n')
    subprocess.run([gcc, *FLAGS, "-c", str(source), "-o", str(tmp_path / "t.o")], check=True)


@pytest.mark.parametrize(("name", "conv"), [pytest.param(n, c, id=f"{n}-{c}") for n, c in _stubs()])
def test_variant_stub_validates_on_unicorn(name: str, conv: str) -> None:
    (item,) = [i for i in _built(name) if i.plan.convention_id == conv]
    path = _stub_path(name, conv, "standalone")
    report = validate(item.plan, path.read_text(), path.as_posix(), trials=20, seed=3)
    assert report.ok, [v.describe() for v in report.violations]
    assert report.instructions_per_round_trip == item.plan.budget.lower_bound


@pytest.mark.qemu
@pytest.mark.parametrize("name", ["variant_smc_sip", "variant_extra_args", "variant_smc32"])
def test_smccc_variants_validate_on_qemu_user(name: str) -> None:
    """`smc #0` and wide arguments on the second backend (qemu-user: the trap is a SIGILL)."""
    from vtlgen.validate.backends.qemu_user import TOOLS

    for tool, package in TOOLS.items():
        require_tool(tool, package)
    (item,) = _built(name)
    path = _stub_path(name, "smccc", "standalone")
    report = validate(item.plan, path.read_text(), path.as_posix(), trials=10, seed=5, backend="qemu-user")
    assert report.ok, [v.describe() for v in report.violations]
    broken = path.read_text().replace(f"\t{item.plan.model.conduit_text.split()[0]}    #0", "\thvc    #1")
    assert broken != path.read_text()
    assert validate(item.plan, broken, "broken.S", trials=2, seed=5, backend="qemu-user").violations


@pytest.mark.parametrize(
    ("name", "conv", "old", "new", "prop"),
    [
        # A base biased 16 bytes off: every shared register comes from the wrong slot.
        ("variant_reordered", "hvc3", "add    x30, x0, #224", "add    x30, x0, #240", "P1"),
        # A wrong chunk of a wide argument.
        ("variant_extra_args", "smccc", "movk   x3, #0xffff, lsl #48", "movk   x3, #0xfffe, lsl #48", "P1"),
    ],
)
def test_a_broken_variant_stub_fails_validation(name: str, conv: str, old: str, new: str, prop: str) -> None:
    (item,) = [i for i in _built(name) if i.plan.convention_id == conv]
    text = _stub_path(name, conv, "standalone").read_text()
    assert text.count(old) == 1
    report = validate(item.plan, text.replace(old, new), "broken.S", trials=5, seed=3)
    assert prop in {v.property for v in report.violations}
