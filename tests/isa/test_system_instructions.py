"""The trials' allow-list of system instructions, checked over the whole system class: every
encoding of bits 21:5 (op0, op1, CRn, CRm, op2, L) is either refused or, as capstone
disassembles it, one of the forms the trials model."""

from __future__ import annotations

import re

import capstone

from vtlgen.isa.system_instructions import DC_ZVA_BLOCK, SYSTEM_CLASS, fields, is_dc_zva, refusal

ALLOWED_FORMS = re.compile(
    r"^(nop|bti( c| j| jc)?|csdb|isb( #\w+)?|dsb #?\w+|dmb #?\w+|clrex( #\w+)?|sb|ssbb|pssbb"
    r"|smstart( sm| za)?|smstop( sm| za)?"
    r"|dc zva, (x\d+|xzr)|mrs (x\d+|xzr), (nzcv|fpcr|fpsr|svcr|dczid_el0)|msr (nzcv|fpcr|fpsr|svcr), (x\d+|xzr))$"
)


def _disassembled(engine: capstone.Cs, word: int) -> str | None:
    for insn in engine.disasm(word.to_bytes(4, "little"), 0):
        return f"{insn.mnemonic} {insn.op_str}".strip()
    return None


def test_every_system_encoding_is_refused_or_an_allowed_form() -> None:
    engine = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
    allowed: set[str] = set()
    for middle in range(1 << 17):
        word = SYSTEM_CLASS | middle << 5
        for rt in (0, 31):  # a register operand, and the 0b11111 that hints and barriers need
            candidate = word | rt
            if refusal(candidate) is None:
                shown = _disassembled(engine, candidate)
                assert shown is not None and ALLOWED_FORMS.match(shown), (hex(candidate), shown)
                allowed.add(shown.split()[0])
    # Each modelled family is reachable: the list is not refusing everything.
    assert allowed == {
        "nop",
        "bti",
        "csdb",
        "isb",
        "dsb",
        "dmb",
        "clrex",
        "sb",
        "ssbb",
        "pssbb",
        "smstart",
        "smstop",
    } | {
        "dc",
        "mrs",
        "msr",
    }


NAMED = {
    0xD518C000: "msr vbar_el1, x0",
    0xD5182020: "msr ttbr1_el1, x0",
    0xD5181000: "msr sctlr_el1, x0",
    0xD50342FF: "msr daifclr, #2",
    0xD5184100: "msr sp_el0, x0",
    0xD5100240: "msr mdscr_el1, x0",
    0xD508871F: "tlbi vmalle1",
    0xD5087620: "dc ivac, x0",
    0xD538D080: "mrs x0, tpidr_el1",
    0xD503233F: "paciasp",
    0xD50323BF: "autiasp",
    0xD50320FF: "xpaclri",
}


def test_the_instructions_that_once_ran_quietly_are_refused() -> None:
    for word, text in NAMED.items():
        assert refusal(word), text
    assert refusal(0xD503201F) is None and refusal(0xD503245F) is None  # nop, bti c
    assert refusal(0x8B010000) is None and fields(0x8B010000) is None  # add x0, x0, x1: not a system instruction


def test_dc_zva_is_the_architectures_largest_block() -> None:
    assert is_dc_zva(0xD50B7420) and not is_dc_zva(0xD5087620)  # dc zva / dc ivac
    assert DC_ZVA_BLOCK == 2048  # 4 << DCZID_EL0.BS, BS at most 9
