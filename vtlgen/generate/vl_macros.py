"""The VL-scaled extended context as every emitter prints it: macro names, C bodies,
formulas in vq and the numbers the checks expect, all computed here from the Plan's
`ContextLayout` so that templates only loop and print.

The shape follows Linux's SVE signal frame (arch/arm64/include/uapi/asm/sigcontext.h):
sizes and offsets are functions of vq, the vector length in quadwords (VL / 16), as in
`SVE_SIG_ZREG_SIZE(vq)` and `SVE_SIG_ZREG_OFFSET(vq, n)`. For a spec whose context starts
the extended part at `base`:

- `<PREFIX>_VL_OFFSET`: `base`, the fixed start of the extended part;
- `<FIELD>_SIZE(vq)`: bytes of one element (ZA: `<FIELD>_SIZE(svq)`, sized by the
  streaming vector length SVL = 16 * svq, which may differ from VL);
- `<FIELD>_OFFSET(vq, n)`: offset of element n from the context's address; a field of one
  element has `<FIELD>_OFFSET(vq)`;
- `<PREFIX>_SIZE_VL(vq)`: bytes of the whole context at vq (`(vq, svq)` with ZA);
- `<PREFIX>_MAX_VQ`: the largest vq the spec allows.

Every offset is `base + vq * (before + per_element * n)`, which names vq once: checkpatch
--strict flags a macro argument used twice (MACRO_ARG_REUSE). The numbers the static
asserts print come from `VlElement.offset` and `ContextLayout.size_at` (the Python layout
the validator uses), never from the formulas, so C and Python check each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from vtlgen.plan import BYTES_PER_VQ, ContextLayout, VlElement
from vtlgen.spec import context_layout

VQ_BYTES = 16  # bytes per quadword of vector length (Linux __SVE_VQ_BYTES)
# One line of a #define, at most; longer ones continue on the next line. The kernel's
# checkpatch limit (scripts/checkpatch.pl $max_line_length), used for both headers.
DEFINE_COLUMNS = 100

# The parameters as the macros name them.
VQ = "vq"
SVQ = "svq"
N = "n"


@dataclass(frozen=True)
class Macro:
    """A #define: a name, its parameters (none for an object-like macro) and its body."""

    name: str
    params: tuple[str, ...]
    body: str

    @property
    def head(self) -> str:
        return f"{self.name}({', '.join(self.params)})" if self.params else self.name

    @property
    def split(self) -> bool:
        """Whether `#define head body` is too long for one line: the templates then end the
        head with a backslash and print the body on the next line, indented by a tab."""
        return len(f"#define {self.head} {self.body}") > DEFINE_COLUMNS

    def call(self, *arguments: int | str) -> str:
        return f"{self.name}({', '.join(str(a) for a in arguments)})" if self.params else self.name


@dataclass(frozen=True)
class Check:
    """`expression == value`, with the value from the Python layout."""

    expression: str
    value: int
    what: str  # a short message, identifiers and numbers only

    @property
    def text(self) -> str:
        return f"{self.expression} == {self.value}"


@dataclass(frozen=True)
class VlFieldView:
    """One VL-scaled field: its macros and its formulas in vq, for people."""

    name: str
    kind: str  # "zreg", "preg", "za"
    count: int
    element: VlElement
    size: Macro
    offset: Macro
    size_formula: str  # e.g. "16 * vq"
    offset_formula: str  # e.g. "1024 + vq * (512 + 2 * n)"

    def size_at(self, vq: int, svq: int = 0) -> int:
        return self.element.element_size(vq * VQ_BYTES, svq * VQ_BYTES)

    def offset_at(self, vq: int, n: int = 0, svq: int = 0) -> int:
        return self.element.offset(vq * VQ_BYTES, n, svq * VQ_BYTES)

    def bytes_at(self, vq: int) -> str:
        """The bytes the whole field takes at vq (ZA: svq the same), e.g. `1024-1535`."""
        return f"{self.offset_at(vq, 0, vq)}-{self.offset_at(vq, self.count, vq) - 1}"


@dataclass(frozen=True)
class VlView:
    """The extended part of one context, as the headers, bindings, page and `show` print it."""

    base: int
    max_vq: int
    has_za: bool
    vl_offset: Macro  # its body is the number: the userspace header prints it whole
    max_vq_macro: Macro
    size_vl: Macro
    size_formula: str
    fields: tuple[VlFieldView, ...]
    checks: tuple[Check, ...]  # each offset and size macro at vq = 1 and at MAX_VQ

    @property
    def macros(self) -> tuple[Macro, ...]:
        """Every function-like macro, in the order the headers define them."""
        return (*(m for f in self.fields for m in (f.size, f.offset)), self.size_vl)

    def size_at(self, context: ContextLayout, vq: int) -> int:
        """Bytes of the whole context at vq (ZA: svq the same), from the Python layout."""
        return context.size_at(vq * VQ_BYTES, vq * VQ_BYTES)


def _linear(base: str, vq: str, before: int, per_element: int, n: str | None) -> str:
    """`base + vq * (before + per_element * n)`, leaving out the terms that are zero."""
    terms = [str(before)] if before else []
    if n is not None and per_element:
        terms.append(f"{per_element} * {n}")
    if not terms:
        return base
    factor = terms[0] if len(terms) == 1 else f"({' + '.join(terms)})"
    return f"{base} + {vq} * {factor}"


def _field(element: VlElement, prefix_offset: Macro, base: int) -> VlFieldView:
    indexed = element.count > 1
    if element.kind == "za":
        # SVL x SVL bytes: quadratic in svq, so svq appears twice (Linux ZA_SIG_REGS_SIZE).
        size = Macro(
            f"{element.macro}_{context_layout.VL_FIELD_SIZE_SUFFIX}",
            (SVQ,),
            f"(({SVQ}) * ({SVQ}) * {VQ_BYTES * VQ_BYTES})",
        )
        size_formula = f"{VQ_BYTES * VQ_BYTES} * {SVQ} * {SVQ}"
        start = _linear(prefix_offset.name, f"({VQ})", element.before, 0, None)
        shown = _linear(str(base), VQ, element.before, 0, None)
        params = (VQ, SVQ, N) if indexed else (VQ,)
        body = f"({start} + ({N}) * {size.call(SVQ)})" if indexed else f"({start})"
        formula = f"{shown} + n * {size_formula}" if indexed else shown
        offset = Macro(f"{element.macro}_{context_layout.VL_FIELD_OFFSET_SUFFIX}", params, body)
        return VlFieldView(element.name, element.kind, element.count, element, size, offset, size_formula, formula)
    per_vq = BYTES_PER_VQ[element.kind]
    size = Macro(f"{element.macro}_{context_layout.VL_FIELD_SIZE_SUFFIX}", (VQ,), f"(({VQ}) * {per_vq})")
    n = N if indexed else None
    offset = Macro(
        f"{element.macro}_{context_layout.VL_FIELD_OFFSET_SUFFIX}",
        (VQ, N) if indexed else (VQ,),
        f"({_linear(prefix_offset.name, f'({VQ})', element.before, per_vq, f'({N})' if n else None)})",
    )
    return VlFieldView(
        element.name,
        element.kind,
        element.count,
        element,
        size,
        offset,
        f"{per_vq} * {VQ}",
        _linear(str(base), VQ, element.before, per_vq, n),
    )


def _size_vl(context: ContextLayout, vl_offset: Macro, fields: tuple[VlFieldView, ...]) -> tuple[Macro, str]:
    """The end of the last field: the extended part starts at or after the fixed struct
    (the headers assert it), so that is the size of the whole context."""
    last = fields[-1]
    name = f"{context.macro_prefix}_{context_layout.SIZE_VL_SUFFIX}"
    if last.kind == "za":
        start = _linear(vl_offset.name, f"({VQ})", last.element.before, 0, None)
        shown = _linear(str(last.element.base), VQ, last.element.before, 0, None)
        times = "" if last.count == 1 else f"{last.count} * "
        body = f"({start} + {times}{last.size.call(SVQ)})"
        return Macro(name, (VQ, SVQ), body), f"{shown} + {times}{last.size_formula}"
    total = last.element.before + BYTES_PER_VQ[last.kind] * last.count
    body = f"({_linear(vl_offset.name, f'({VQ})', total, 0, None)})"
    return Macro(name, (VQ,), body), _linear(str(last.element.base), VQ, total, 0, None)


def _checks(view_fields: tuple[VlFieldView, ...], size_vl: Macro, context: ContextLayout, max_vq: int) -> list[Check]:
    """Each macro at vq = 1 and at MAX_VQ (ZA: svq the same), first and last element."""
    checks = []
    for vq in sorted({1, max_vq}):
        svq = vq
        for field in view_fields:
            size_argument = svq if field.kind == "za" else vq
            checks.append(
                Check(field.size.call(size_argument), field.size_at(vq, svq), f"{field.name} size at vq {vq}")
            )
            for n in sorted({0, field.count - 1}):
                if len(field.offset.params) == 1:
                    arguments: tuple[int, ...] = (vq,)
                elif field.kind == "za":
                    arguments = (vq, svq, n)
                else:
                    arguments = (vq, n)
                checks.append(
                    Check(field.offset.call(*arguments), field.offset_at(vq, n, svq), f"{field.name} offset at vq {vq}")
                )
                if len(field.offset.params) == 1:
                    break
        size_arguments = (vq, svq) if len(size_vl.params) == 2 else (vq,)
        size = context.size_at(vq * VQ_BYTES, svq * VQ_BYTES)
        checks.append(Check(size_vl.call(*size_arguments), size, f"size at vq {vq}"))
    return checks


def view(context: ContextLayout) -> VlView | None:
    """The extended part's macros, formulas and checks; None when the context has none."""
    if not context.vl_elements:
        return None
    base = context.vl_elements[0].base
    prefix = context.macro_prefix
    vl_offset = Macro(f"{prefix}_{context_layout.VL_OFFSET_SUFFIX}", (), str(base))
    max_vq = context.max_vl // VQ_BYTES
    fields = tuple(_field(element, vl_offset, base) for element in context.vl_elements)
    size_vl, size_formula = _size_vl(context, vl_offset, fields)
    return VlView(
        base=base,
        max_vq=max_vq,
        has_za=any(f.kind == "za" for f in fields),
        vl_offset=vl_offset,
        max_vq_macro=Macro(f"{prefix}_{context_layout.MAX_VQ_SUFFIX}", (), str(max_vq)),
        size_vl=size_vl,
        size_formula=size_formula,
        fields=fields,
        checks=tuple(_checks(fields, size_vl, context, max_vq)),
    )
