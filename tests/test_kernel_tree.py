"""The kernel flavour in a real arm64 kernel tree (Debian's linux-source-6.12).

For clang (BTI on) and GCC (BTI off, as the kernel forces): an external module built from
every convention's kernel flavour, through the generated asm-offsets and Kbuild lines,
with W=1 and sparse (C=1) and CONFIG_WERROR, must build with no warning at all. Each stub
sits in .noinstr.text, starts with `bti c`, and has the standalone stub's bytes. Every
kernel-flavour file passes `checkpatch.pl --strict`. tests/support/kernel_tree.py keeps the tree.
Outside CI these skip, naming the Debian packages; with CI=true a missing one fails.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import kernel_files, kernel_tree, require_tool
from tests.support.kernel_files import BUILT, CONVENTIONS, GENERATED, KERNEL
from tests.support.kernel_tree import Toolchain

pytestmark = [pytest.mark.kernel, pytest.mark.toolchain]

BTI_C = bytes.fromhex("5f2403d5")  # `bti c` = hint #34 (Arm ARM, C6.2 "BTI")
BINUTILS = "binutils-aarch64-linux-gnu"


CALLER = """// SPDX-License-Identifier: GPL-2.0-only
#include <linux/module.h>
#include <asm/neon.h>
{includes}
void vtlgen_return_to_vtl0(struct mshv_vtl_cpu_context *ctx);

/* Built, never loaded. The stubs switch the FP/SIMD registers, hence kernel_neon_begin(). */
void vtlgen_return_to_vtl0(struct mshv_vtl_cpu_context *ctx)
{{
{calls}}}
EXPORT_SYMBOL_GPL(vtlgen_return_to_vtl0);

MODULE_DESCRIPTION("vtlgen: the kernel flavour of every convention");
MODULE_LICENSE("GPL");
"""
# The existing-definition mode: the struct as a kernel header would define it, then the
# generated headers only check it.
EXISTING = """// SPDX-License-Identifier: GPL-2.0-only
#include <linux/types.h>

{definition}
#define MSHV_VTL_CPU_CONTEXT_EXISTING
{includes}
u64 vtlgen_first_register(struct mshv_vtl_cpu_context *ctx);

u64 vtlgen_first_register(struct mshv_vtl_cpu_context *ctx)
{{
	return ctx->x[0];
}}
"""


def _includes() -> str:
    return "".join(f'#include "{KERNEL[c].header}"\n' for c in CONVENTIONS)


def _module(folder: Path, moved: str | None = None) -> None:
    """Every convention's kernel-flavour files, a caller, the existing-definition user, Kbuild."""
    folder.mkdir()
    for conv in CONVENTIONS:
        for path in kernel_files.paths(conv):
            shutil.copy(path, folder / path.name)
    calls = "".join(
        f"\tkernel_neon_begin();\n\t{BUILT[c].plan.symbol}(ctx);\n\tkernel_neon_end();\n" for c in CONVENTIONS
    )
    (folder / "caller.c").write_text(CALLER.format(includes=_includes(), calls=calls))
    (folder / "existing.c").write_text(
        EXISTING.format(definition=kernel_files.hand_definition(moved), includes=_includes())
    )
    objects = " ".join(["caller.o", "existing.o", *(KERNEL[c].stub_object for c in CONVENTIONS)])
    kbuild_lines = "".join(f"include $(src)/{KERNEL[c].kbuild}\n" for c in CONVENTIONS)
    (folder / "Kbuild").write_text(f"obj-m := vtlgen_stubs.o\nvtlgen_stubs-y := {objects}\n{kbuild_lines}")


@dataclass(frozen=True)
class ModuleBuild:
    toolchain: Toolchain
    tree: Path
    folder: Path
    result: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def source() -> Path:
    return kernel_tree.source_tree()


@pytest.fixture(scope="module", params=sorted(kernel_tree.TOOLCHAINS))
def module_build(request: pytest.FixtureRequest, source: Path, tmp_path_factory: pytest.TempPathFactory) -> ModuleBuild:
    toolchain = kernel_tree.TOOLCHAINS[request.param]
    tree = kernel_tree.prepared_tree(source, toolchain)
    folder = tmp_path_factory.mktemp(toolchain.name) / "module"
    _module(folder)
    return ModuleBuild(toolchain, tree, folder, kernel_tree.build_module(source, tree, toolchain, folder))


def test_the_tree_is_configured_as_asked(module_build: ModuleBuild) -> None:
    config = kernel_tree.config(module_build.tree)
    assert config.get("CONFIG_WERROR") == "y"
    compiler = "CONFIG_CC_IS_CLANG" if module_build.toolchain.name == "clang" else "CONFIG_CC_IS_GCC"
    assert config.get(compiler) == "y"
    assert (config.get("CONFIG_ARM64_BTI_KERNEL") == "y") is module_build.toolchain.bti


def test_the_module_builds_with_no_warning(module_build: ModuleBuild) -> None:
    output = module_build.result.stdout + module_build.result.stderr
    assert module_build.result.returncode == 0, output
    assert not re.search(r"warning", output, re.I), output
    for checked in ("caller.c", "existing.c"):  # sparse ran (C=1 prints CHECK per file)
        assert re.search(rf"^\s*CHECK\s+\S*/{checked}$", output, re.M), output
    assert (module_build.folder / "vtlgen_stubs.ko").exists()


def test_the_stubs_took_their_offsets_from_kbuilds_asm_offsets(module_build: ModuleBuild) -> None:
    for conv in CONVENTIONS:
        kernel = KERNEL[conv]
        header = (module_build.folder / kernel.asm_offsets_h).read_text()
        assert "This file was generated by Kbuild" in header
        defines = {name: int(value) for name, value in re.findall(r"^#define (\w+) (\d+) ", header, re.M)}
        assert defines == kernel_files.asm_offset_values(BUILT[conv].plan.context)
        dependencies = (module_build.folder / f".{kernel.stub_object}.cmd").read_text()
        assert kernel.asm_offsets_h in dependencies


def test_bti_really_is_on_only_with_clang(module_build: ModuleBuild) -> None:
    """The compiler marks objects it built with BTI landing pads in a GNU property note."""
    readelf = require_tool("aarch64-linux-gnu-readelf", BINUTILS)
    notes = subprocess.run(
        [readelf, "-n", str(module_build.folder / "caller.o")], check=True, capture_output=True, text=True
    ).stdout
    assert ("BTI" in notes) is module_build.toolchain.bti, notes


def _symbols(readelf: str, binary: Path) -> dict[str, tuple[str, int, int]]:
    """name -> (section, value, size) for every function symbol."""
    sections_text = subprocess.run([readelf, "-SW", str(binary)], check=True, capture_output=True, text=True).stdout
    sections = {int(n): name for n, name in re.findall(r"^\s*\[\s*(\d+)\]\s+(\S+)", sections_text, re.M)}
    symbols_text = subprocess.run([readelf, "-sW", str(binary)], check=True, capture_output=True, text=True).stdout
    found = {}
    for value, size, index, name in re.findall(
        r"^\s*\d+:\s+([0-9a-f]+)\s+(\d+)\s+FUNC\s+\w+\s+\w+\s+(\d+)\s+(\S+)$", symbols_text, re.M
    ):
        found[name] = (sections[int(index)], int(value, 16), int(size))
    return found


def test_each_stub_sits_in_noinstr_with_bti_first_and_the_standalone_bytes(
    module_build: ModuleBuild, tmp_path: Path
) -> None:
    readelf = require_tool("aarch64-linux-gnu-readelf", BINUTILS)
    objcopy = require_tool("aarch64-linux-gnu-objcopy", BINUTILS)
    module = module_build.folder / "vtlgen_stubs.ko"
    symbols = _symbols(readelf, module)
    raw = tmp_path / "noinstr.bin"
    subprocess.run([objcopy, "-O", "binary", "-j", ".noinstr.text", str(module), str(raw)], check=True)
    text = raw.read_bytes()
    for conv in CONVENTIONS:
        plan = BUILT[conv].plan
        section, value, size = symbols[plan.symbol]
        assert section == plan.linux_section == ".noinstr.text"
        code = text[value : value + size]
        assert code[:4] == BTI_C
        assert code == BUILT[conv].code  # keystone's assembly of the standalone .S


def test_a_wrong_offset_in_an_existing_definition_fails_the_build_naming_the_field(
    source: Path, tmp_path: Path
) -> None:
    """One member too many before q moves q: the real <linux/build_bug.h> names it."""
    tree = kernel_tree.prepared_tree(source, kernel_tree.CLANG)
    folder = tmp_path / "module"
    _module(folder, moved="q")
    result = kernel_tree.build_module(source, tree, kernel_tree.CLANG, folder)
    assert result.returncode != 0
    failed = set(re.findall(r'error: .*"offsetof\(struct mshv_vtl_cpu_context, (\w+)', result.stderr))
    assert "q" in failed and not failed & {"x", "rsvd"}, result.stderr


def _checkpatch(source: Path, path: Path, cwd: Path) -> str:
    """checkpatch.pl from the installed source; cwd keeps its CamelCase cache out of the repo."""
    perl = require_tool("perl", "perl")
    command = [perl, str(source / "scripts" / "checkpatch.pl"), "--no-tree", "--strict", "-f", str(path)]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd).stdout


@pytest.mark.parametrize("path", [p for c in CONVENTIONS for p in kernel_files.paths(c)], ids=lambda p: str(p.name))
def test_checkpatch_strict_is_clean(source: Path, path: Path, tmp_path: Path) -> None:
    output = _checkpatch(source, path, tmp_path)
    assert "total: 0 errors, 0 warnings, 0 checks" in output, output


def test_checkpatch_flags_the_userspace_idioms_the_kernel_header_avoids(source: Path, tmp_path: Path) -> None:
    """Why the kernel flavour has its own header: C11's _Static_assert is CamelCase to checkpatch."""
    output = _checkpatch(source, GENERATED / "hvc3" / "hyperv_vtl_hvc3.h", tmp_path)
    assert "Avoid CamelCase: <_Static_assert>" in output, output
