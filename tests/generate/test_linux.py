"""The Linux-kernel flavour: checkpatch's line limit, asm-offsets coverage, the header's
layout checks and its existing-definition mode. Quick and offline (the shim); the real
tree is tests/test_kernel_tree.py."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.support import kbuild, require_tool
from tests.support.kernel_files import BUILT, CONVENTIONS, FIELDS, GENERATED, KERNEL, asm_offset_values, hand_definition
from tests.support.kernel_files import paths as kernel_paths
from vtlgen.generate import linux
from vtlgen.lower.a64 import instruction


def kernel_files(conv: str) -> dict[str, str]:
    return {path.name: BUILT[conv].files[f"hyperv_vtl/{conv}/{path.name}"] for path in kernel_paths(conv)}


@pytest.mark.parametrize("conv", CONVENTIONS)
def test_every_kernel_flavour_line_fits_checkpatchs_limit(conv: str) -> None:
    for name, text in kernel_files(conv).items():
        for number, line in enumerate(text.splitlines(), 1):
            assert linux.columns(line) <= linux.MAX_COLUMNS, f"{name}:{number}: {line!r}"


def test_a_comment_that_does_not_fit_goes_above_its_instruction() -> None:
    short = linux._instruction(instruction("mov", "x29, sp", "frame pointer"))
    long = linux._instruction(instruction("movz", "w0, #((A_VERY_LONG_CONSTANT_NAME >> 16) & 0xffff)", "x" * 60))
    assert not short.comment_above and long.comment_above
    assert linux.columns(f"\t{long.code}") <= linux.MAX_COLUMNS


@pytest.mark.parametrize("conv", CONVENTIONS)
def test_the_stub_names_only_macros_that_asm_offsets_or_the_header_define(conv: str) -> None:
    files = kernel_files(conv)
    kernel = KERNEL[conv]
    offsets = set(re.findall(r"^\tOFFSET\((\w+),|^\tDEFINE\((\w+),", files[kernel.asm_offsets_c], re.M))
    defined = {name for pair in offsets for name in pair if name}
    defined |= set(re.findall(r"^#define (\w+) ", files[kernel.header], re.M))
    lines = files[kernel.stub].splitlines()
    code = "\n".join(line.split("/*")[0] for line in lines if re.match(r"\t[a-z]", line))
    named = set(re.findall(r"\b[A-Z][A-Z0-9_]{3,}\b", code))
    assert named and named <= defined
    context = BUILT[conv].plan.context
    every = {e.macro for e in context.elements} | {m.macro for m in context.element_macros}
    assert every | {f"{context.macro_prefix}_SIZE"} <= defined  # all of them, not only what this stub uses


@pytest.mark.parametrize("conv", CONVENTIONS)
def test_layout_checks_cover_every_offset_the_size_and_the_limit(conv: str) -> None:
    context = BUILT[conv].plan.context
    checks = set(KERNEL[conv].layout_checks)
    struct = f"struct {context.c_name}"
    for element in context.elements:
        assert f"offsetof({struct}, {element.name}) == {element.offset}" in checks
        assert f"sizeof_field({struct}, {element.name}) == {element.size}" in checks
    for macro in context.element_macros:
        assert f"offsetof({struct}, {macro.designator}) == {macro.offset}" in checks
    assert f"sizeof({struct}) == {context.size}" in checks
    assert f"sizeof({struct}) <= {context.max_size}" in checks
    assert f"static_assert(sizeof({struct}) <= {context.max_size});" in kernel_files(conv)[KERNEL[conv].header]


EXISTING = """#include <linux/types.h>
{definition}
#define MSHV_VTL_CPU_CONTEXT_EXISTING
{includes}
int f(struct mshv_vtl_cpu_context *ctx);
int f(struct mshv_vtl_cpu_context *ctx) {{ return ctx->x[0] != 0; }}
"""


def _compile_existing(tmp_path: Path, definition: str, define_mode: bool = True) -> subprocess.CompletedProcess[str]:
    cc = require_tool("gcc", "gcc")
    includes = "".join(f'#include "{GENERATED / c / KERNEL[c].header}"\n' for c in CONVENTIONS)
    text = EXISTING.format(definition=definition, includes=includes)
    if not define_mode:
        text = text.replace("#define MSHV_VTL_CPU_CONTEXT_EXISTING\n", "")
    source = tmp_path / "existing.c"
    source.write_text(text)
    command = [cc, "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-D__KERNEL__", f"-I{kbuild.SHIM}", "-c"]
    return subprocess.run([*command, str(source), "-o", str(tmp_path / "e.o")], capture_output=True, text=True)


@pytest.mark.toolchain
def test_existing_definition_mode_accepts_the_kernels_own_struct(tmp_path: Path) -> None:
    assert KERNEL["hvc3"].existing_macro == "MSHV_VTL_CPU_CONTEXT_EXISTING"
    result = _compile_existing(tmp_path, hand_definition())
    assert result.returncode == 0, result.stderr


@pytest.mark.toolchain
def test_without_the_mode_two_definitions_collide(tmp_path: Path) -> None:
    result = _compile_existing(tmp_path, hand_definition(), define_mode=False)
    assert result.returncode != 0 and re.search(r"redefinition of .struct mshv_vtl_cpu_context.", result.stderr)


@pytest.mark.toolchain
@pytest.mark.parametrize("field", FIELDS)
def test_existing_definition_with_one_wrong_offset_fails_naming_the_field(tmp_path: Path, field: str) -> None:
    result = _compile_existing(tmp_path, hand_definition(field))
    assert result.returncode != 0
    failed = set(re.findall(r"offsetof\(struct mshv_vtl_cpu_context, (\w+)\) ==", result.stderr))
    assert field in failed
    assert not failed & set(FIELDS[: FIELDS.index(field)])  # the fields before it are still right


@pytest.mark.toolchain
@pytest.mark.parametrize("conv", CONVENTIONS)
def test_offline_asm_offsets_agree_with_the_spec(tmp_path: Path, conv: str) -> None:
    gcc = require_tool("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu")
    header = kbuild.asm_offsets(gcc, GENERATED / conv, KERNEL[conv], tmp_path).read_text()
    defines = dict(re.findall(r"^#define (\w+) (\d+) ", header, re.M))
    assert {k: int(v) for k, v in defines.items()} == asm_offset_values(BUILT[conv].plan.context)
