"""The toolchains users ship with, driven the way they drive them: GNU as and llvm-mc on a
standalone stub, gcc on the kernel flavour as Kbuild builds it. A missing tool skips outside
CI, naming its Debian package, and fails in CI."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support import SHIM, kbuild, require_tool
from vtlgen.generate import render
from vtlgen.plan import Plan

FLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror"]
BINUTILS = "binutils-aarch64-linux-gnu"


def text_section(obj: Path, section: str = ".text") -> bytes:
    objcopy = require_tool("aarch64-linux-gnu-objcopy", BINUTILS)
    out = obj.with_suffix(".bin")
    subprocess.run([objcopy, "-O", "binary", "-j", section, str(obj), str(out)], check=True)
    return out.read_bytes()


ASSEMBLERS = {
    "gnu-as": (["aarch64-linux-gnu-as"], BINUTILS),
    "llvm-mc": (["llvm-mc", "-triple=aarch64", "-filetype=obj"], "llvm"),
}


def assemble_with(assembler: str, source: Path, tmp_path: Path) -> bytes:
    """The .text bytes a real assembler makes of a standalone stub."""
    command, package = ASSEMBLERS[assembler]
    tool = require_tool(command[0], package)
    obj = tmp_path / f"{source.stem}.{assembler}.o"
    subprocess.run([tool, *command[1:], "-o", str(obj), str(source)], check=True)
    return text_section(obj)


def compile_kernel_flavour(plan: Plan, folder: Path, tmp_path: Path) -> bytes:
    """The kernel flavour as Kbuild builds it: asm-offsets first (tests/support/kbuild.py), then
    `gcc -c` with the linkage.h shim; the `.noinstr.text` bytes."""
    gcc = require_tool("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu")
    kernel = render.kernel_flavour(plan)
    kbuild.asm_offsets(gcc, folder, kernel, tmp_path)
    obj = tmp_path / "stub_linux.o"
    command = [gcc, "-c", "-D__ASSEMBLY__", f"-I{SHIM}", f"-I{tmp_path}", f"-I{folder}"]
    subprocess.run([*command, "-o", str(obj), str(folder / kernel.stub)], check=True)
    return text_section(obj, ".noinstr.text")
