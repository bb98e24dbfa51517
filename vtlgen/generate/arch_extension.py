"""Which architecture extension a stub's instructions need, and the directive that turns
it on for the assembler.

GNU as and llvm-mc refuse SVE instructions unless the target includes SVE: `-march=...+sve`
on the command line, `.arch armv8.2-a+sve`, or `.arch_extension sve` in the source (GNU as
manual, "AArch64 Directives"; LLVM's AArch64AsmParser handles the same directive).
`.arch_extension` adds SVE to whatever architecture is already selected, where `.arch`
would replace it: the kernel assembles with its own `-march` (arch/arm64/Makefile
`asm-arch`), which must stay in force for the rest of the file. The stubs name it only when
their Plan has SVE instructions, so a stub without them is unchanged.

The directive's text is an interface: the stub vetting (vtlgen/isa/stubsource.py) accepts
exactly `SVE_DIRECTIVE` and drops it before keystone sees the stub.
"""

from __future__ import annotations

import re

from vtlgen.plan import Instruction, Plan

SVE_DIRECTIVE = "\t.arch_extension sve"
SVE_OFF_DIRECTIVE = "\t.arch_extension nosve"

# Instructions that exist only with SVE (Arm ARM, "SVE instructions"), whatever their operands.
_SVE_MNEMONICS = frozenset(
    {"addvl", "addpl", "rdvl", "rdffr", "rdffrs", "wrffr", "setffr", "ptrue", "ptrues", "pfalse"}
)
# A Z or P register operand (`z3`, `z3.d`, `p0.b`, `p1/z`), or the `mul vl` addressing of
# `ldr z3, [x9, #-13, mul vl]` (Arm ARM, "LDR (vector)", "LDR (predicate)").
_SVE_OPERAND = re.compile(r"(?<![\w.])[zp](?:[12]?\d|3[01])(?![\w])|\bmul\s+vl\b", re.IGNORECASE)


def is_sve(instruction: Instruction) -> bool:
    if instruction.mnemonic.lower() in _SVE_MNEMONICS:
        return True
    return any(_SVE_OPERAND.search(operands) for operands in (instruction.literal, instruction.symbolic))


def needs_sve(plan: Plan) -> bool:
    """Whether the stub must enable SVE for the assembler."""
    return any(is_sve(instruction) for instruction in plan.instructions)
