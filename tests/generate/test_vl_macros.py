"""The VL-scaled extended context, printed everywhere from one Python layout.

The C macros (evaluated by a compiler), the Python bindings' `vl_layout` and Linux's own
SVE signal-frame macros must all give the offsets `VlElement.offset` and the size
`ContextLayout.size_at` give; a spec whose macro names collide is refused where it says
so; stubs with SVE instructions carry `.arch_extension sve` and assemble with GNU as,
llvm-mc and in the kernel flavour. Everything is rendered in memory from spec/.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from tests.support import DATA, SPEC, edited, invoke, kbuild, require_file, require_tool
from vtlgen.generate import arch_extension, linux, render, vl_macros
from vtlgen.guard import quoting
from vtlgen.lower.a64 import instruction
from vtlgen.lower.convention import lower
from vtlgen.plan import Block, ContextLayout, Instruction, Plan, Requirement, VlElement
from vtlgen.spec.loader import SpecError, load, load_text

PLANS = {plan.convention_id: plan for plan in lower(load(SPEC).spec, SPEC.as_posix())}
CONTEXT = PLANS["hvc3"].context
VQS = (1, 3, 4, 16)  # the smallest, two that are no power of two, the largest
FLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror"]
SIGCONTEXT = Path("/usr/aarch64-linux-gnu/include/asm/sigcontext.h")
BINUTILS = "binutils-aarch64-linux-gnu"


def _python_offsets(context: ContextLayout, vq: int) -> dict[str, int]:
    """What the validator's layout says: every element's offset and size, and the total."""
    vl = 16 * vq
    out = {"size": context.size_at(vl, vl)}
    for element in context.vl_elements:
        out[f"{element.name} size"] = element.element_size(vl, vl)
        for n in range(element.count):
            out[f"{element.name}[{n}]"] = element.offset(vl, n, vl)
    return out


def _c_expression(element: VlElement, vq_text: str, n: int) -> str:
    """The macro call as a user writes it, by the names the README gives (not vl_layout's)."""
    if element.count == 1:
        return f"{element.macro}_OFFSET({vq_text})"
    return f"{element.macro}_OFFSET({vq_text}, {n})"


def _write(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_the_default_spec_has_an_extended_part_and_the_view_matches_it() -> None:
    view = vl_macros.view(CONTEXT)
    assert view is not None and not view.has_za
    assert (view.base, view.max_vq) == (1024, 16)
    assert [f.name for f in view.fields] == ["z", "p", "ffr"]
    assert view.size_vl.head == "MSHV_VTL_CPU_CONTEXT_SIZE_VL(vq)"
    assert [f.offset.head for f in view.fields] == [
        "MSHV_VTL_CPU_CONTEXT_Z_OFFSET(vq, n)",
        "MSHV_VTL_CPU_CONTEXT_P_OFFSET(vq, n)",
        "MSHV_VTL_CPU_CONTEXT_FFR_OFFSET(vq)",
    ]
    assert vl_macros.view(lower(load(DATA / "hyperv_vtl_1.0.0.yaml").spec, "x")[0].context) is None


@pytest.mark.toolchain
@pytest.mark.parametrize("vq", VQS)
def test_c_macros_evaluated_by_gcc_equal_the_python_layout(tmp_path: Path, vq: int) -> None:
    """vq is passed as `vq - 1 + 1` and as a variable, so a macro that does not parenthesize
    its argument, or that only works on constants, gives a wrong number."""
    cc = require_tool("gcc", "gcc")
    plan = PLANS["hvc3"]
    header = render.header(plan, "hyperv_vtl.yaml")
    prints = []
    for element in CONTEXT.vl_elements:
        prints.append(f'printf("{element.name} size %lld\\n", (long long){element.macro}_SIZE(v));')
        for n in range(element.count):
            expression = _c_expression(element, f"{vq - 1} + 1", n)
            prints.append(f'printf("{element.name}[{n}] %lld\\n", (long long){expression});')
    prints.append(f'printf("size %lld\\n", (long long){CONTEXT.macro_prefix}_SIZE_VL(v));')
    body = "\n    ".join(prints)
    program = f'#include <stdio.h>\n#include "h.h"\nint main(int argc, char **argv) {{\n    int v = {vq} + 0 * argc;\n    (void)argv;\n    {body}\n    return 0;\n}}\n'  # noqa: E501
    _write(tmp_path, {"h.h": header, "t.c": program})
    subprocess.run([cc, *FLAGS, "-o", str(tmp_path / "t"), str(tmp_path / "t.c")], check=True)
    printed = subprocess.run([str(tmp_path / "t")], check=True, capture_output=True, text=True).stdout
    c_layout = {key: int(value) for key, value in (line.rsplit(" ", 1) for line in printed.splitlines())}
    assert c_layout == _python_offsets(CONTEXT, vq)


def _bindings(tmp_path: Path, plan: Plan) -> ModuleType:
    path = tmp_path / "bindings.py"
    path.write_text(render.bindings(plan, "hyperv_vtl.yaml", bytes(4)))
    spec = importlib.util.spec_from_file_location("vl_bindings", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("vq", VQS)
def test_the_bindings_layout_function_agrees(tmp_path: Path, vq: int) -> None:
    module = _bindings(tmp_path, PLANS["smccc"])
    for layout in (module.vl_layout(16 * vq), module.MshvVtlCpuContext.layout_at(16 * vq)):
        bound = {"size": layout.size}
        for name, field in layout.fields.items():
            bound[f"{name} size"] = field.size
            bound |= {f"{name}[{n}]": offset for n, offset in enumerate(field.offsets)}
        assert bound == _python_offsets(CONTEXT, vq)
        assert layout.vl == 16 * vq


@pytest.mark.parametrize("vl", [0, 8, 24, 100, 272, 512, -16, True, 16.0, "64"])
def test_the_bindings_refuse_a_vector_length_the_spec_does_not_allow(tmp_path: Path, vl: object) -> None:
    module = _bindings(tmp_path, PLANS["hvc3"])
    with pytest.raises(ValueError, match="multiple of 16 from 16 to 256"):
        module.vl_layout(vl)


@pytest.mark.kernel
@pytest.mark.toolchain
def test_linux_sve_signal_frame_macros_space_z_p_and_ffr_as_ours(tmp_path: Path) -> None:
    """Where the order is Linux's (32 zreg, 16 preg, one preg: struct sve_context), every
    offset relative to the start of the registers is SVE_SIG_*'s, at every vq."""
    fields = [(e.kind, e.count) for e in CONTEXT.vl_elements]
    assert fields == [("zreg", 32), ("preg", 16), ("preg", 1)], "the order differs from Linux's: no cross-check"
    gcc = require_tool("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu")
    require_file(SIGCONTEXT, "linux-libc-dev-arm64-cross")
    z, p, ffr = (e.macro for e in CONTEXT.vl_elements)
    ours, size_vl = f"{CONTEXT.macro_prefix}_VL_OFFSET", f"{CONTEXT.macro_prefix}_SIZE_VL"
    checks = []
    for vq in range(1, CONTEXT.max_vl // 16 + 1):
        pairs = [(f"{z}_SIZE({vq})", f"SVE_SIG_ZREG_SIZE({vq})"), (f"{p}_SIZE({vq})", f"SVE_SIG_PREG_SIZE({vq})")]
        pairs.append((f"{ffr}_SIZE({vq})", f"SVE_SIG_FFR_SIZE({vq})"))
        pairs += [
            (f"{z}_OFFSET({vq}, {n}) - {ours}", f"SVE_SIG_ZREG_OFFSET({vq}, {n}) - SVE_SIG_REGS_OFFSET")
            for n in range(32)
        ]
        pairs += [
            (f"{p}_OFFSET({vq}, {n}) - {ours}", f"SVE_SIG_PREG_OFFSET({vq}, {n}) - SVE_SIG_REGS_OFFSET")
            for n in range(16)
        ]
        pairs.append((f"{ffr}_OFFSET({vq}) - {ours}", f"SVE_SIG_FFR_OFFSET({vq}) - SVE_SIG_REGS_OFFSET"))
        pairs.append((f"{size_vl}({vq}) - {ours}", f"SVE_SIG_REGS_SIZE({vq})"))
        checks += [f'_Static_assert((long)({a}) == (long)({b}), "{a}");' for a, b in pairs]
    source = '#include <asm/sigcontext.h>\n#include "h.h"\n' + "\n".join(checks) + "\n"
    _write(tmp_path, {"h.h": render.header(PLANS["hvc3"], "hyperv_vtl.yaml"), "t.c": source})
    subprocess.run([gcc, *FLAGS, "-c", "-o", str(tmp_path / "t.o"), str(tmp_path / "t.c")], check=True)
    # and the check has teeth: Linux's P registers start after the 32 Z registers, not 31
    bad = source.replace("SVE_SIG_PREG_OFFSET(3, 0)", "SVE_SIG_ZREG_OFFSET(3, 31)", 1)
    (tmp_path / "bad.c").write_text(bad)
    result = subprocess.run([gcc, *FLAGS, "-c", "-o", str(tmp_path / "bad.o"), str(tmp_path / "bad.c")],
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode != 0 and f"{p}_OFFSET(3, 0)" in result.stderr


@pytest.mark.toolchain
def test_a_wrong_vl_macro_fails_its_static_assert(tmp_path: Path) -> None:
    """The numbers the header asserts come from Python: a formula that drifts fails the build."""
    cc = require_tool("gcc", "gcc")
    header = render.header(PLANS["hvc3"], "hyperv_vtl.yaml")
    good = "(MSHV_VTL_CPU_CONTEXT_VL_OFFSET + (vq) * 544)"
    assert good in header
    _write(
        tmp_path,
        {"h.h": header.replace(good, "(MSHV_VTL_CPU_CONTEXT_VL_OFFSET + (vq) * 542)"), "t.c": '#include "h.h"\n'},
    )
    result = subprocess.run([cc, *FLAGS, "-c", "-o", str(tmp_path / "t.o"), str(tmp_path / "t.c")],
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode != 0 and "ffr offset at vq 1" in result.stderr and "ffr offset at vq 16" in result.stderr


# (field path, edit, words): every name that would define one macro twice.
COLLISIONS = [
    (
        "context.vl_scaled.fields[0].name",
        ("{name: rsvd, type: u64, offset: 248}", "{name: z_offset, type: u64, offset: 248}"),
        "needs the macro MSHV_VTL_CPU_CONTEXT_Z_OFFSET, which field 'z_offset' defines",
    ),
    (
        "context.fields[1].name",
        ("{name: rsvd, type: u64, offset: 248}", "{name: size_vl, type: u64, offset: 248}"),
        "MSHV_VTL_CPU_CONTEXT_SIZE_VL, which the header itself defines",
    ),
    (
        "context.vl_scaled.fields[2].name",
        ("{name: ffr, type: preg}", "{name: size_vl, type: preg}"),
        "MSHV_VTL_CPU_CONTEXT_SIZE_VL, which the header itself defines",
    ),
    (
        "context.vl_scaled.fields[2].name",
        ("{name: ffr, type: preg}", "{name: vl, type: preg}"),
        "MSHV_VTL_CPU_CONTEXT_VL_OFFSET, which the header itself defines",
    ),
    (
        "context.vl_scaled.fields[2].name",
        ("{name: ffr, type: preg}", "{name: max, type: preg}"),
        "MSHV_VTL_CPU_CONTEXT_MAX_SIZE, which the header itself defines",
    ),
    (
        "context.vl_scaled.fields[2].name",
        ("{name: ffr, type: preg}", "{name: p_size, type: preg}"),
        "MSHV_VTL_CPU_CONTEXT_P_SIZE, which VL-scaled field 'p' defines",
    ),
    (
        "context.vl_scaled.fields[2].name",
        ("{name: ffr, type: preg}", "{name: q, type: preg}"),
        "needs the macro MSHV_VTL_CPU_CONTEXT_Q, which field 'q' defines",
    ),
    (
        "context.vl_scaled.fields[2].name",
        ("{name: ffr, type: preg}", "{name: z, type: preg}"),
        "needs the macro MSHV_VTL_CPU_CONTEXT_Z, which VL-scaled field 'z' defines",
    ),
    (
        "context.fields[1].name",
        ("{name: rsvd, type: u64, offset: 248}", "{name: max_vq, type: u64, offset: 248}"),
        "MSHV_VTL_CPU_CONTEXT_MAX_VQ, which the header itself defines",
    ),
]


def _collision_id(case: tuple[str, tuple[str, str], str]) -> str:
    name = re.search(r"name: (\w+)", case[1][1])
    assert name
    return f"{'fixed' if 'rsvd' in case[1][0] else 'vl'}-{name[1]}"  # the edited field


@pytest.mark.parametrize(("path", "edit", "words"), COLLISIONS, ids=[_collision_id(c) for c in COLLISIONS])
def test_colliding_macro_names_are_refused_where_they_are(path: str, edit: tuple[str, str], words: str) -> None:
    text = edited(SPEC.read_text(), *edit)
    with pytest.raises(SpecError) as caught:
        load_text(text, "spec/x.yaml")
    # the line of the field the path names: the edited one, or the VL-scaled `z` it collides with
    where = "{name: z, type: zreg" if path == "context.vl_scaled.fields[0].name" else edit[1]
    line = text[: text.index(where)].count("\n") + 1
    column = text.splitlines()[line - 1].index("name:") + len("name: ") + 1
    located = [str(p) for p in caught.value.problems if p.path == path and words in p.message]
    assert located, [str(p) for p in caught.value.problems]
    assert located[0].startswith(f"spec/x.yaml:{line}:{column}: {path}: ")


def test_names_that_only_look_alike_are_accepted() -> None:
    """`size_vl` is free without a VL-scaled part, and `zz` beside `z` makes no collision."""
    old = load(DATA / "hyperv_vtl_1.0.0.yaml")
    text = (DATA / "hyperv_vtl_1.0.0.yaml").read_text()
    assert old.spec.context.vl_scaled is None
    load_text(edited(text, "{name: rsvd, type: u64, offset: 248}", "{name: size_vl, type: u64, offset: 248}"), "x")
    load_text(
        edited(SPEC.read_text(), "{name: rsvd, type: u64, offset: 248}", "{name: zz, type: u64, offset: 248}"), "x"
    )


# SVE instructions as the lead's lowering will write them: literal operands for the
# standalone stub, asm-offsets names for the kernel flavour.
_SVE_BLOCK = Block(
    "sve",
    "test block: VTL0's Z, P and FFR (test_vl_layout.py)",
    (
        Instruction("add", "x9, x0, #1024", "x9, x0, #MSHV_VTL_CPU_CONTEXT_VL_OFFSET", "ctx->z"),
        instruction("ldr", "z3, [x9, #-13, mul vl]", "VTL0's z3"),
        instruction("str", "z31, [x9, #31, mul vl]"),
        instruction("addvl", "x9, x9, #16"),
        instruction("ldr", "p0, [x9, #2, mul vl]"),
        instruction("wrffr", "p0.b"),
        instruction("rdffr", "p0.b"),
        instruction("str", "p15, [x9, #17, mul vl]"),
    ),
)


def sve_plan(plan: Plan) -> Plan:
    """The plan with a block of SVE instructions before the last block (`ret`)."""
    return dataclasses.replace(plan, blocks=(*plan.blocks[:-1], _SVE_BLOCK, plan.blocks[-1]))


def test_sve_instructions_are_recognised_and_nothing_else() -> None:
    assert all(arch_extension.is_sve(i) for i in _SVE_BLOCK.instructions[1:])
    assert not arch_extension.is_sve(_SVE_BLOCK.instructions[0])
    plain = ["x0, x1", "q0, q1, [x30, #MSHV_VTL_CPU_CONTEXT_P_OFFSET]", "x29, x30, [sp, #-16]!", "xzr, [x0]"]
    assert not any(arch_extension.is_sve(instruction("ldp", operands)) for operands in plain)
    old_plans = lower(load(DATA / "hyperv_vtl_1.0.0.yaml").spec, "x")
    assert not any(arch_extension.needs_sve(plan) for plan in old_plans)
    assert arch_extension.needs_sve(sve_plan(old_plans[0]))


@pytest.mark.parametrize("conv", sorted(PLANS))
def test_the_directive_is_there_exactly_when_the_plan_has_sve(conv: str) -> None:
    plain = lower(load(DATA / "hyperv_vtl_1.0.0.yaml").spec, "x")[0 if conv == "hvc3" else 1]
    for plan, wanted in ((plain, 0), (sve_plan(plain), 1)):
        standalone = render.standalone_asm(plan, "x.yaml")
        kernel = render.linux_asm(plan, "x.yaml")
        assert standalone.splitlines().count(arch_extension.SVE_DIRECTIVE) == wanted
        assert kernel.splitlines().count(arch_extension.SVE_DIRECTIVE) == wanted
        assert kernel.splitlines().count(arch_extension.SVE_OFF_DIRECTIVE) == wanted
        if wanted:  # before the first instruction, and the kernel's only after the stub
            first = standalone.index("\thint #34")
            assert standalone.index(arch_extension.SVE_DIRECTIVE + "\n") < first
            assert kernel.index(arch_extension.SVE_OFF_DIRECTIVE) > kernel.index("SYM_FUNC_END")


def _text_section(obj: Path, section: str) -> bytes:
    objcopy = require_tool("aarch64-linux-gnu-objcopy", BINUTILS)
    out = obj.with_suffix(".bin")
    subprocess.run([objcopy, "-O", "binary", "-j", section, str(obj), str(out)], check=True)
    return out.read_bytes()


@pytest.mark.toolchain
@pytest.mark.parametrize("conv", sorted(PLANS))
def test_stubs_with_sve_assemble_alike_with_gnu_as_llvm_mc_and_the_kernel_flavour(tmp_path: Path, conv: str) -> None:
    gas = require_tool("aarch64-linux-gnu-as", BINUTILS)
    llvm_mc = require_tool("llvm-mc", "llvm")
    gcc = require_tool("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu")
    clang = require_tool("clang", "clang")
    plan = sve_plan(PLANS[conv])
    source = tmp_path / "stub.S"
    source.write_text(render.standalone_asm(plan, "hyperv_vtl.yaml"))
    subprocess.run([gas, "-o", str(tmp_path / "gas.o"), str(source)], check=True)
    subprocess.run([llvm_mc, "-triple=aarch64", "-filetype=obj", "-o", str(tmp_path / "mc.o"), str(source)], check=True)
    code = _text_section(tmp_path / "gas.o", ".text")
    assert code == _text_section(tmp_path / "mc.o", ".text")
    assert bytes.fromhex("234dbe85") in code  # ldr z3, [x9, #-13, mul vl] (GNU as, llvm-mc agree above)
    # The kernel flavour as Kbuild builds it, with the shim's linkage.h: asm-offsets first.
    kernel = render.kernel_flavour(plan)
    folder = tmp_path / "kernel"
    folder.mkdir()
    (folder / kernel.stub).write_text(render.linux_asm(plan, "hyperv_vtl.yaml"))
    (folder / kernel.header).write_text(render.linux_header(plan, "hyperv_vtl.yaml"))
    (folder / kernel.asm_offsets_c).write_text(render.asm_offsets(plan, "hyperv_vtl.yaml"))
    offsets = kbuild.asm_offsets(gcc, folder, kernel, tmp_path).read_text()
    assert re.search(r"^#define MSHV_VTL_CPU_CONTEXT_VL_OFFSET 1024 ", offsets, re.M)
    for compiler in ([gcc], [clang, "--target=aarch64-linux-gnu"]):
        obj = tmp_path / f"{Path(compiler[0]).name}.o"
        command = [*compiler, "-c", "-D__ASSEMBLY__", f"-I{kbuild.SHIM}", f"-I{tmp_path}", f"-I{folder}"]
        subprocess.run([*command, "-o", str(obj), str(folder / kernel.stub)], check=True)
        assert _text_section(obj, ".noinstr.text") == code, compiler


@pytest.mark.toolchain
def test_entry_requirements_reach_every_header_as_inert_wrapped_comments(tmp_path: Path) -> None:
    cc = require_tool("gcc", "gcc")
    plan = PLANS["hvc3"]
    assert plan.model.vector is not None
    evil = "Streaming mode */ int injected; /* breaks FFR " + "word " * 40 + "\u00e9t\u00e9 end."
    vector = dataclasses.replace(plan.model.vector, requirements=(Requirement("svcr.sm", 0, evil),))
    hostile = dataclasses.replace(plan, model=dataclasses.replace(plan.model, vector=vector))
    user = render.header(hostile, "x.yaml")
    kernel = render.linux_header(hostile, "x.yaml")
    for text in (user, kernel):
        assert " * SVCR.SM = 0:\n *   Streaming mode * / int injected; / * breaks FFR" in text
        assert "end." in text and "\\xe9t\\xe9" in text  # the whole reason, escaped, not cut
    assert all(linux.columns(line) <= linux.MAX_COLUMNS for line in kernel.splitlines())
    _write(tmp_path, {"h.h": user, "t.c": '#include "h.h"\nint injected(void);\n'})
    subprocess.run([cc, *FLAGS, "-c", "-o", str(tmp_path / "t.o"), str(tmp_path / "t.c")], check=True)
    # the real spec's requirement, for both conventions
    for conv, real in PLANS.items():
        assert "SVCR.SM = 0:" in render.header(real, "hyperv_vtl.yaml"), conv
        assert "SVCR.SM = 0:" in render.linux_header(real, "hyperv_vtl.yaml"), conv


def test_wrapped_comment_lines_cannot_close_the_comment() -> None:
    for text in ("a */ b", "*/" * 50, "x" * 300 + "*/", "/" + " *" * 100):
        lines = quoting.c_comment_lines(text, 20)
        assert lines and all(len(line) <= 20 and "*/" not in line and "/*" not in line for line in lines)
        comment = "/*\n" + "".join(f" *   {line}\n" for line in lines) + " */"
        assert comment.count("*/") == 1 and comment.count("/*") == 1


def test_show_prints_the_extended_part_with_formulas_in_vq() -> None:
    result = invoke("show", str(SPEC))
    assert result.exit_code == 0, result.output
    assert "extended context, vq = VL / 16 in 1..16: from 1024" in result.output
    for formula in ("1024 + vq * 16 * n", "1024 + vq * (512 + 2 * n)", "1024 + vq * 544", "9728-9759"):
        assert formula in result.output


def test_the_abi_page_gives_the_extended_layout_in_vq_and_the_entry_requirements() -> None:
    from vtlgen.generate import abidoc

    spec = load(SPEC).spec
    page = abidoc.page(spec, "hyperv_vtl.yaml", list(PLANS.values()))
    assert "The VL-scaled extended context\n------------------------------\n" in page
    assert "   * - ``p``\n     - preg\n     - 16\n     - ``2 * vq``\n     - ``1024 + vq * (512 + 2 * n)``\n" in page
    assert "     - 1536-1567\n     - 9216-9727\n" in page
    assert ":Size: ``MSHV_VTL_CPU_CONTEXT_SIZE_VL(vq)``" in page
    assert "Entry requirements\n==================\n" in page and "- ``SVCR.SM = 0``: In streaming mode" in page


def _za_plan() -> Plan:
    """The default spec with SME's ZA appended to the extended part (ZA is always last)."""
    text = edited(
        SPEC.read_text(),
        "      - {name: ffr, type: preg}\n",
        "      - {name: ffr, type: preg}\n      - {name: za, type: za}\n",
    )
    return lower(load_text(text, "za.yaml").spec, "za.yaml")[1]


@pytest.mark.toolchain
@pytest.mark.parametrize(("vq", "svq"), [(1, 1), (3, 4), (16, 1), (4, 16)])
def test_za_is_sized_by_svq_in_c_in_the_bindings_and_in_python(tmp_path: Path, vq: int, svq: int) -> None:
    cc = require_tool("gcc", "gcc")
    plan = _za_plan()
    view = vl_macros.view(plan.context)
    assert view is not None and view.has_za and view.size_vl.params == ("vq", "svq")
    za = plan.context.vl_elements[-1]
    assert za.kind == "za" and [f.offset.params for f in view.fields][-1] == ("vq",)
    prefix = plan.context.macro_prefix
    program = (
        '#include <stdio.h>\n#include "h.h"\nint main(void) {\n'
        f'    printf("%lld %lld %lld\\n", (long long){za.macro}_OFFSET({vq}), (long long){za.macro}_SIZE({svq}),'
        f" (long long){prefix}_SIZE_VL({vq}, {svq}));\n    return 0;\n}}\n"
    )
    _write(tmp_path, {"h.h": render.header(plan, "za.yaml"), "t.c": program})
    subprocess.run([cc, *FLAGS, "-o", str(tmp_path / "t"), str(tmp_path / "t.c")], check=True)
    printed = subprocess.run([str(tmp_path / "t")], check=True, capture_output=True, text=True).stdout.split()
    vl, svl = 16 * vq, 16 * svq
    expected = [za.offset(vl, 0, svl), za.element_size(vl, svl), plan.context.size_at(vl, svl)]
    assert [int(x) for x in printed] == expected
    assert expected[1] == svl * svl  # SVL x SVL bytes (Linux ZA_SIG_REGS_SIZE)
    module = _bindings(tmp_path, plan)
    layout = module.vl_layout(vl, svl)
    assert (layout.fields["za"].offsets, layout.fields["za"].size, layout.size) == ((expected[0],), *expected[1:])
    with pytest.raises(TypeError):
        module.vl_layout(vl)  # ZA needs the streaming vector length
    with pytest.raises(ValueError, match="svl"):
        module.vl_layout(vl, 8)
