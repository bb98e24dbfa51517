"""The default spec's SMCCC convention restated as a call of another ABI family."""

from __future__ import annotations

from tests.support.cli import edited


def as_family(spec_text: str, family: str, imm16: int, x0: str) -> str:
    """The SMCCC convention restated as another family's call: its conduit, no function ID,
    and a constant in x0 (the hyp stub's call number) or x16 (Xen's hypercall number)."""
    start = spec_text.index("  - id: smccc\n")
    head, convention = spec_text[:start], spec_text[start:]
    fid_start, fid_end = convention.index("    function_id:\n"), convention.index("    transport: memory\n")
    convention = convention[:fid_start] + f"    family: {family}\n" + convention[fid_end:]
    convention = edited(
        convention, "conduit: {instruction: hvc, imm16: 0}", f"conduit: {{instruction: hvc, imm16: {imm16}}}"
    )
    convention = edited(convention, "{register: x0, value: function-id, sources: [linux-mshyperv, smccc]}", x0)
    return head + convention
