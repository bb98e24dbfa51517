"""The C headers compile with -Werror in both flavours and agree with the ctypes layout."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_tool

GENERATED = ROOT / "generated" / "hyperv_vtl"
SHIM = Path(__file__).resolve().parent / "shim"
HEADERS = sorted(h for h in GENERATED.glob("*/*.h") if not h.name.endswith("_linux.h"))
KERNEL_HEADERS = sorted(GENERATED.glob("*/*_linux.h"))
FLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror"]

PROGRAM = """
#include <stdio.h>
#include "{header}"
int main(void) {{
    printf("size %zu\\n", sizeof(struct mshv_vtl_cpu_context));
    printf("x %zu\\n", offsetof(struct mshv_vtl_cpu_context, x));
    printf("rsvd %zu\\n", offsetof(struct mshv_vtl_cpu_context, rsvd));
    printf("q %zu\\n", offsetof(struct mshv_vtl_cpu_context, q));
    printf("q31 %zu\\n", offsetof(struct mshv_vtl_cpu_context, q[31]));
    return 0;
}}
"""


def test_both_conventions_have_headers() -> None:
    assert [h.name for h in HEADERS] == ["hyperv_vtl_hvc3.h", "hyperv_vtl_smccc.h"]
    assert [h.name for h in KERNEL_HEADERS] == ["hyperv_vtl_hvc3_linux.h", "hyperv_vtl_smccc_linux.h"]


@pytest.mark.parametrize("header", HEADERS, ids=lambda p: p.name)
@pytest.mark.parametrize("flavour", ["userspace", "kernel", "assembly"])
def test_header_compiles(tmp_path: Path, header: Path, flavour: str) -> None:
    cc = require_tool("gcc", "gcc")
    extra = {"userspace": [], "kernel": ["-D__KERNEL__", f"-I{SHIM}"], "assembly": ["-D__ASSEMBLY__"]}[flavour]
    if flavour == "assembly":
        source = tmp_path / "t.S"
        source.write_text(f'#include "{header}"\n\tmov x0, #MSHV_VTL_CPU_CONTEXT_Q31\n')
        cmd = [cc, *extra, "-E", str(source)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        assert "mov x0, #752" in out
        return
    source = tmp_path / "t.c"
    # Both headers together: the shared struct must not be defined twice.
    headers = KERNEL_HEADERS if flavour == "kernel" else HEADERS
    source.write_text("".join(f'#include "{h}"\n' for h in headers) + "int main(void) { return 0; }\n")
    subprocess.run([cc, *FLAGS, *extra, "-c", str(source), "-o", str(tmp_path / "t.o")], check=True)


def test_broken_layout_fails_to_compile(tmp_path: Path) -> None:
    """The static_asserts have teeth: a header whose macro disagrees must not compile."""
    cc = require_tool("gcc", "gcc")
    text = HEADERS[0].read_text().replace("#define MSHV_VTL_CPU_CONTEXT_Q 256", "#define MSHV_VTL_CPU_CONTEXT_Q 264")
    bad = tmp_path / "bad.h"
    bad.write_text(text)
    source = tmp_path / "t.c"
    source.write_text(f'#include "{bad}"\nint main(void) {{ return 0; }}\n')
    result = subprocess.run(
        [cc, *FLAGS, "-c", str(source), "-o", str(tmp_path / "t.o")], capture_output=True, text=True
    )
    assert result.returncode != 0 and "q offset" in result.stderr


@pytest.mark.parametrize("header", HEADERS, ids=lambda p: p.name)
def test_c_layout_equals_ctypes_layout(tmp_path: Path, header: Path) -> None:
    cc = require_tool("gcc", "gcc")
    source = tmp_path / "layout.c"
    source.write_text(PROGRAM.format(header=header))
    subprocess.run([cc, *FLAGS, str(source), "-o", str(tmp_path / "layout")], check=True)
    printed = subprocess.run([str(tmp_path / "layout")], check=True, capture_output=True, text=True).stdout
    c_layout = {k: int(v) for k, v in (line.split() for line in printed.splitlines())}
    spec = importlib.util.spec_from_file_location("b", header.with_suffix(".py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import ctypes

    ctx = module.MshvVtlCpuContext
    py_layout = {
        "size": ctypes.sizeof(ctx),
        "x": ctx.x.offset,
        "rsvd": ctx.rsvd.offset,
        "q": ctx.q.offset,
        "q31": ctx.q.offset + 31 * ctypes.sizeof(module.U128),
    }
    assert c_layout == py_layout
