"""The C headers compile with -Werror in both flavours and agree with the ctypes layout."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest

from tests.support import ROOT, SHIM, SPEC, edited, require_tool
from vtlgen.generate import render
from vtlgen.lower.convention import lower
from vtlgen.spec.loader import load, load_text

GENERATED = ROOT / "generated" / "hyperv_vtl"
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


@pytest.mark.toolchain
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


@pytest.mark.toolchain
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


@pytest.mark.toolchain
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


# The VL-scaled part, rendered in memory (generated/ is regenerated at merge time).
def _rendered(tmp_path: Path, kernel: bool) -> list[Path]:
    paths = []
    for plan in lower(load(SPEC).spec, SPEC.as_posix()):
        name = render.kernel_flavour(plan).header if kernel else render.file_names(plan)["header"]
        text = render.linux_header(plan, SPEC.name) if kernel else render.header(plan, SPEC.name)
        (tmp_path / name).write_text(text)
        paths.append(tmp_path / name)
    return paths


@pytest.mark.toolchain
@pytest.mark.parametrize("flavour", ["userspace", "kernel"])
def test_rendered_headers_of_both_conventions_compile_together(tmp_path: Path, flavour: str) -> None:
    """Each header defines the VL-scaled macros once (a guard), the numbers its static asserts
    print hold, and the extended part starts after the struct and its reservation."""
    cc = require_tool("gcc", "gcc")
    kernel = flavour == "kernel"
    headers = _rendered(tmp_path, kernel)
    text = headers[0].read_text()
    assert "MSHV_VTL_CPU_CONTEXT_SIZE_VL(vq)" in text and "MSHV_VTL_CPU_CONTEXT_P_OFFSET(vq, n)" in text
    assert ("static_assert(MSHV_VTL_CPU_CONTEXT_VL_OFFSET >= 1024);" in text) is kernel
    source = tmp_path / "t.c"
    uses = "int z3_at_vq4 = MSHV_VTL_CPU_CONTEXT_Z_OFFSET(4, 3);\n"
    source.write_text("".join(f'#include "{h}"\n' for h in headers) + uses)
    extra = ["-D__KERNEL__", f"-I{SHIM}"] if kernel else []
    result = subprocess.run(
        [cc, *FLAGS, *extra, "-Wundef", "-c", str(source), "-o", str(tmp_path / "t.o")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    dump = subprocess.run([cc, *extra, "-dM", "-E", str(source)], check=True, capture_output=True, text=True).stdout
    assert "#define MSHV_VTL_CPU_CONTEXT_VL_OFFSET 1024" in dump.splitlines()


@pytest.mark.toolchain
def test_vl_macros_work_from_assembly(tmp_path: Path) -> None:
    """From a .S, the userspace header's macros at a constant vq assemble to the Python offset."""
    gcc = require_tool("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu")
    objcopy = require_tool("aarch64-linux-gnu-objcopy", "binutils-aarch64-linux-gnu")
    (header,) = [h for h in _rendered(tmp_path, kernel=False) if h.name.endswith("_hvc3.h")]
    p = next(e for e in lower(load(SPEC).spec, "x")[0].context.vl_elements if e.name == "p")
    with_macros = tmp_path / "m.S"
    with_macros.write_text(f'#include "{header}"\n\tmov x1, #MSHV_VTL_CPU_CONTEXT_P_OFFSET(4, 2)\n')
    literal = tmp_path / "l.S"
    literal.write_text(f"\tmov x1, #{p.offset(64, 2)}\n")
    objects = []
    for source in (with_macros, literal):
        objects.append(source.with_suffix(".o"))
        subprocess.run([gcc, "-c", "-o", str(objects[-1]), str(source)], check=True)
    assert p.offset(64, 2) == 1024 + 4 * (512 + 2 * 2)
    sections = [subprocess.run([objcopy, "-O", "binary", "-j", ".text", str(o), "/dev/stdout"],
                               check=True, capture_output=True).stdout for o in objects]  # fmt: skip
    assert sections[0] == sections[1] and len(sections[0]) == 4


@pytest.mark.toolchain
@pytest.mark.parametrize("flavour", ["userspace", "kernel"])
def test_a_passed_through_argument_is_a_c_parameter(tmp_path: Path, flavour: str) -> None:
    """The header declares what the stub implements: ctx in x0, then the pass-through
    arguments in register order; a caller passing them compiles, one omitting them does not."""
    cc = require_tool("gcc", "gcc")
    anchor = "{register: x2, value: context, sources: [smccc]}"
    extra_arguments = "\n      - {register: x5, value: pass-through, name: LATER}"
    extra_arguments += "\n      - {register: x3, value: pass-through, name: SOONER}"
    spec = load_text(edited(SPEC.read_text(), anchor, anchor + extra_arguments), "spec/p.yaml").spec
    (plan,) = [p for p in lower(spec, "spec/p.yaml") if p.convention_id == "smccc"]
    kernel = flavour == "kernel"
    header = tmp_path / "p.h"
    header.write_text(render.linux_header(plan, "p.yaml") if kernel else render.header(plan, "p.yaml"))
    u64 = "u64" if kernel else "VTLGEN_U64"
    declared = f"void {plan.symbol}(struct mshv_vtl_cpu_context *ctx, {u64} sooner, {u64} later);"
    assert declared in header.read_text()
    extra = ["-D__KERNEL__", f"-I{SHIM}"] if kernel else []
    for call, compiles in (("(ctx, 1, 2)", True), ("(ctx)", False)):
        source = tmp_path / "t.c"
        source.write_text(f'#include "p.h"\nvoid t(struct mshv_vtl_cpu_context *ctx) {{ {plan.symbol}{call}; }}\n')
        result = subprocess.run(
            [cc, *FLAGS, *extra, "-c", str(source), "-o", str(tmp_path / "t.o")], capture_output=True, text=True
        )
        assert (result.returncode == 0) is compiles, result.stderr
