"""Offline stand-in for the one Kbuild step the kernel flavour needs: asm-offsets.

Kbuild compiles `<base>-asm-offsets.c` to assembly and its `filechk_offsets`
(scripts/Makefile.lib) turns each `->SYMBOL #value expression` line that <linux/kbuild.h>'s
DEFINE() leaves there into `#define SYMBOL value /* expression */`. The quick tests do the
same with the cross compiler and the shim headers; tests/test_kernel_tree.py runs the real
rule in a real tree.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.support import SHIM
from vtlgen.generate.linux import KernelFlavour

_MARKER = re.compile(r'^\s*\.ascii\s*"->(\S+) [#$]*(\S+) (.*)"')


def offsets_header(assembly: str, guard: str) -> str:
    defines = [f"#define {m[1]} {m[2]} /* {m[3]} */" for line in assembly.splitlines() if (m := _MARKER.match(line))]
    return "\n".join([f"#ifndef {guard}", f"#define {guard}", *defines, "#endif", ""])


def asm_offsets(cc: str, folder: Path, kernel: KernelFlavour, out: Path) -> Path:
    """Compile the convention's asm-offsets .c with the shim; write its header into `out`."""
    assembly = out / kernel.asm_offsets_s
    command = [cc, "-S", "-D__KERNEL__", f"-I{SHIM}", f"-I{folder}", "-o", str(assembly)]
    subprocess.run([*command, str(folder / kernel.asm_offsets_c)], check=True)
    header = out / kernel.asm_offsets_h
    header.write_text(offsets_header(assembly.read_text(), kernel.asm_offsets_guard))
    return header
