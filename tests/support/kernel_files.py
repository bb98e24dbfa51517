"""The real spec's kernel flavour, as the tests use it, and a hand-written kernel-style
definition of the context for the existing-definition mode."""

from __future__ import annotations

from pathlib import Path

from tests.support import ROOT, SPEC
from vtlgen.generate import render, vl_macros
from vtlgen.generate.artifacts import build
from vtlgen.plan import ContextLayout
from vtlgen.spec.loader import load

GENERATED = ROOT / "generated" / "hyperv_vtl"
BUILT = {item.plan.convention_id: item for item in build(load(SPEC))}
KERNEL = {conv: render.kernel_flavour(item.plan) for conv, item in BUILT.items()}
CONVENTIONS = sorted(BUILT)


def asm_offset_values(context: ContextLayout) -> dict[str, int]:
    """What the asm-offsets header must define: every field and element, the size, and the
    VL-scaled part's fixed start when there is one."""
    values = {e.macro: e.offset for e in context.elements} | {m.macro: m.offset for m in context.element_macros}
    values[f"{context.macro_prefix}_SIZE"] = context.size
    view = vl_macros.view(context)
    if view is not None:
        values[view.vl_offset.name] = view.base
    return values


def names(conv: str) -> tuple[str, ...]:
    """Every kernel-flavour file of a convention: the ones a kernel tree takes."""
    kernel = KERNEL[conv]
    return (kernel.stub, kernel.header, kernel.asm_offsets_c, kernel.kbuild)


def paths(conv: str) -> list[Path]:
    return [GENERATED / conv / name for name in names(conv)]


# The layout of the Linux v2 patch and OpenHCL's protocol.rs, written by hand as a kernel
# header would, independent of the generator.
FIELDS = ("x", "rsvd", "q")  # in layout order
# One member inserted in front of a field moves that field and everything after it.
_INSERTED = {"x": "\tu32 flags;\n", "rsvd": "\tu32 flags;\n", "q": "\tu64 pad;\n"}


def hand_definition(moved: str | None = None) -> str:
    members = {"x": "\tu64 x[31];\n", "rsvd": "\tu64 rsvd;\n", "q": "\tu128 q[32];\n"}
    body = "".join((_INSERTED[f] if f == moved else "") + members[f] for f in FIELDS)
    return f"struct mshv_vtl_cpu_context {{\n{body}}};\n"
