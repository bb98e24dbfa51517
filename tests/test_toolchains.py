"""Cross-checks against the toolchains users ship with: GNU as, LLVM, gcc, clang, qemu-user.

Outside CI a missing tool skips with the Debian package to install; with CI=true it fails.
"""

from __future__ import annotations

import ctypes
import importlib.util
import subprocess
from pathlib import Path

import pytest

from tests.support import ROOT, SHIM, require_tool
from tests.support.kernel_files import BUILT, KERNEL
from tests.support.toolchains import ASSEMBLERS, BINUTILS, FLAGS, assemble_with, compile_kernel_flavour
from vtlgen.isa.assembler import assemble

pytestmark = [pytest.mark.toolchain]

GENERATED = ROOT / "generated" / "hyperv_vtl"
CONVENTIONS = ["hvc3", "smccc"]


def _keystone(conv: str) -> bytes:
    return assemble((GENERATED / conv / f"hyperv_vtl_{conv}.S").read_text()).code


@pytest.mark.parametrize("assembler", sorted(ASSEMBLERS))
@pytest.mark.parametrize("conv", CONVENTIONS)
def test_real_assemblers_give_keystones_bytes(tmp_path: Path, conv: str, assembler: str) -> None:
    assert assemble_with(assembler, GENERATED / conv / f"hyperv_vtl_{conv}.S", tmp_path) == _keystone(conv)


@pytest.mark.parametrize("assembler", sorted(ASSEMBLERS))
@pytest.mark.parametrize("conv", CONVENTIONS)
def test_the_symbol_has_the_stubs_size(tmp_path: Path, conv: str, assembler: str) -> None:
    """`.size sym, . - sym` in the standalone stub: the ELF symbol covers every instruction."""
    source = GENERATED / conv / f"hyperv_vtl_{conv}.S"
    assemble_with(assembler, source, tmp_path)
    nm = require_tool("aarch64-linux-gnu-nm", BINUTILS)
    listing = subprocess.run(
        [nm, "-S", str(tmp_path / f"{source.stem}.{assembler}.o")], check=True, capture_output=True, text=True
    ).stdout
    sizes = {line.split()[-1]: int(line.split()[1], 16) for line in listing.splitlines() if len(line.split()) == 4}
    (symbol,) = sizes
    assert sizes[symbol] == len(_keystone(conv)) > 0


@pytest.mark.parametrize("conv", CONVENTIONS)
def test_kernel_flavour_assembles_to_the_same_bytes(tmp_path: Path, conv: str) -> None:
    """Quick, offline: asm-offsets from the shim (tests/support/kbuild.py), then `gcc -c` with the
    linkage.h shim. tests/test_kernel_tree.py does the same in a real kernel tree."""
    assert compile_kernel_flavour(BUILT[conv].plan, GENERATED / conv, tmp_path) == _keystone(conv)


COMPILERS = {
    "gcc": (["aarch64-linux-gnu-gcc"], "gcc-aarch64-linux-gnu"),
    "clang": (["clang", "--target=aarch64-linux-gnu"], "clang"),
}


@pytest.mark.parametrize("compiler", sorted(COMPILERS))
@pytest.mark.parametrize("flavour", ["userspace", "kernel"])
def test_headers_compile_for_aarch64(tmp_path: Path, compiler: str, flavour: str) -> None:
    command, package = COMPILERS[compiler]
    tool = require_tool(command[0], package)
    extra = ["-D__KERNEL__", f"-I{SHIM}"] if flavour == "kernel" else []
    names = {c: KERNEL[c].header if flavour == "kernel" else f"hyperv_vtl_{c}.h" for c in CONVENTIONS}
    source = tmp_path / "t.c"
    source.write_text("".join(f'#include "{GENERATED / c / names[c]}"\n' for c in CONVENTIONS) + "int f(void);\n")
    subprocess.run([tool, *command[1:], *FLAGS, *extra, "-c", str(source), "-o", str(tmp_path / "t.o")], check=True)


LAYOUT = """
#include <stdio.h>
#include "{header}"
#define SHOW(m) printf(#m " %zu\\n", offsetof(struct mshv_vtl_cpu_context, m))
int main(void) {{
    printf("size %zu\\n", sizeof(struct mshv_vtl_cpu_context));
    printf("align %zu\\n", _Alignof(struct mshv_vtl_cpu_context));
    SHOW(x); SHOW(rsvd); SHOW(q); SHOW(x[18]); SHOW(x[30]); SHOW(q[31]);
    return 0;
}}
"""


@pytest.mark.qemu
@pytest.mark.parametrize("conv", CONVENTIONS)
def test_layout_on_aarch64_matches_the_bindings(tmp_path: Path, conv: str) -> None:
    gcc = require_tool("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu")
    qemu = require_tool("qemu-aarch64", "qemu-user")
    source = tmp_path / "layout.c"
    source.write_text(LAYOUT.format(header=GENERATED / conv / f"hyperv_vtl_{conv}.h"))
    program = tmp_path / "layout"
    subprocess.run([gcc, *FLAGS, "-static", "-o", str(program), str(source)], check=True)
    printed = subprocess.run([qemu, str(program)], check=True, capture_output=True, text=True).stdout
    measured = dict(line.rsplit(" ", 1) for line in printed.splitlines())
    spec = importlib.util.spec_from_file_location("bindings", GENERATED / conv / f"hyperv_vtl_{conv}.py")
    assert spec and spec.loader
    bindings = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bindings)
    ctx, u128 = bindings.MshvVtlCpuContext, ctypes.sizeof(bindings.U128)
    expected = {
        "size": ctypes.sizeof(ctx),
        "align": 16,  # C's; ctypes cannot express it (see the bindings' docstring)
        "x": ctx.x.offset,
        "rsvd": ctx.rsvd.offset,
        "q": ctx.q.offset,
        "x[18]": ctx.x.offset + 18 * 8,
        "x[30]": ctx.x.offset + 30 * 8,
        "q[31]": ctx.q.offset + 31 * u128,
    }
    assert {k: int(v) for k, v in measured.items()} == expected
