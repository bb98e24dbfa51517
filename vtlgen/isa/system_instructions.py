"""The allow-list of A64 system instructions the trials model; every other one is refused.

The trials run stubs at EL1 in unicorn, where a system instruction the harness does not model
(`msr vbar_el1`, `tlbi`, `dc ivac`, `mrs tpidr_el1`, a PAC hint...) runs as a no-op or with an
effect nobody checks. The proof has the same rule through its p-code allow-list
(vtlgen/prove/explorer.py): what is not on the list is not silently executed.

Encodings: Arm ARM (DDI 0487), C4.1.94 "System instructions" (bits 31:22 = 0b1101010100;
L = bit 21, op0 = bits 20:19, op1 = 18:16, CRn = 15:12, CRm = 11:8, op2 = 7:5), C5.2 for
the NZCV, FPCR, FPSR, DCZID_EL0 and SVCR encodings, C6.2 for HINT, BTI, the barriers, SYS
(DC ZVA) and MSR (immediate) with the SVCR fields (SMSTART/SMSTOP).
"""

from __future__ import annotations

from dataclasses import dataclass

SYSTEM_CLASS_MASK = 0xFFC0_0000
SYSTEM_CLASS = 0xD500_0000


@dataclass(frozen=True)
class SystemFields:
    read: bool  # L
    op0: int
    op1: int
    crn: int
    crm: int
    op2: int
    rt: int

    @property
    def register(self) -> tuple[int, int, int, int, int]:
        return (self.op0, self.op1, self.crn, self.crm, self.op2)


def fields(word: int) -> SystemFields | None:
    """The fields of a system-class instruction, or None for any other instruction."""
    if word & SYSTEM_CLASS_MASK != SYSTEM_CLASS:
        return None
    return SystemFields(
        bool(word >> 21 & 1), word >> 19 & 3, word >> 16 & 7, word >> 12 & 15, word >> 8 & 15, word >> 5 & 7, word & 31
    )


# (op0, op1, CRn, CRm, op2) of the system registers a stub may read and write: the flags the
# trials compare (P10), the FP control and status registers the ABI makes clobbered, and SVCR
# (the vector trials model streaming mode and ZA). DCZID_EL0 is read-only: the DC ZVA block size.
READ_WRITE_REGISTERS = {
    (3, 3, 4, 2, 0): "nzcv",
    (3, 3, 4, 4, 0): "fpcr",
    (3, 3, 4, 4, 1): "fpsr",
    (3, 3, 4, 2, 2): "svcr",
}
READ_ONLY_REGISTERS = {(3, 3, 0, 0, 7): "dczid_el0"}

DC_ZVA = (3, 7, 4, 1)  # SYS #3, C7, C4, #1 (op1, CRn, CRm, op2)
# DC ZVA zeroes a block of 4 << DCZID_EL0.BS bytes, and BS is at most 9 (Arm ARM, DCZID_EL0):
# up to 2 KiB. Unicorn zeroes 64; the trials and the proof judge the worst case.
DC_ZVA_BLOCK = 4 << 9
_BARRIERS = {2: "clrex", 4: "dsb", 5: "dmb", 6: "isb", 7: "sb"}  # op1 = 3, CRn = 3: no register effect
# The CRm values each barrier names (C6.2: DMB/DSB options OSHLD..SY, SSBB and PSSBB as DSB #0
# and #4; ISB SY; SB none); CLREX's CRm is ignored.
_NAMED_OPTIONS = frozenset({1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15})
_BARRIER_OPTIONS = {
    "clrex": frozenset(range(16)),
    "dsb": _NAMED_OPTIONS | {0, 4},
    "dmb": _NAMED_OPTIONS,
    "isb": frozenset({15}),
    "sb": frozenset({0}),
}
_SVCR_OP2 = 3  # MSR SVCRSM/SVCRZA/SVCRSMZA, #imm (SMSTART/SMSTOP): op1 = 3, CRn = 4, CRm = 0b0FFi


def is_dc_zva(word: int) -> bool:
    f = fields(word)
    return f is not None and not f.read and f.op0 == 1 and (f.op1, f.crn, f.crm, f.op2) == DC_ZVA


def refusal(word: int) -> str | None:
    """Why the trials cannot run this instruction as modelled, or None when they can (any
    instruction outside the system class, and the system instructions on the allow-list)."""
    f = fields(word)
    if f is None:
        return None
    if f.op0 == 0:
        return _hint_barrier_or_pstate(f)
    if f.op0 == 1:
        if not f.read and (f.op1, f.crn, f.crm, f.op2) == DC_ZVA:
            return None
        return "a cache, TLB or address-translation maintenance instruction (SYS/SYSL)"
    if f.register in READ_WRITE_REGISTERS or (f.read and f.register in READ_ONLY_REGISTERS):
        return None
    access = "reads" if f.read else "writes"
    return f"{access} a system register the ABI gives the stub no access to (S{'_'.join(map(str, f.register))})"


def _hint_barrier_or_pstate(f: SystemFields) -> str | None:
    if f.read or f.rt != 31:  # hints, barriers and PSTATE writes have Rt = 0b11111
        return "an unallocated system encoding"
    if f.op1 == 3 and f.crn == 2:  # HINT #(CRm:op2)
        if f.crm == 0 and f.op2 == 0:
            return None  # NOP
        if f.crm == 4 and f.op2 % 2 == 0:
            return None  # BTI {c|j|jc}: a landing pad, no state effect outside branch checks
        if f.crm == 2 and f.op2 == 4:
            return None  # CSDB: a speculation barrier
        return f"a hint with an effect the trials do not model (HINT #{f.crm << 3 | f.op2}: PAC, WFI, WFE, ...)"
    if f.op1 == 3 and f.crn == 3 and f.op2 in _BARRIERS and f.crm in _BARRIER_OPTIONS[_BARRIERS[f.op2]]:
        return None
    if f.crn == 4:  # MSR (immediate): PSTATE fields
        if f.op1 == 3 and f.op2 == _SVCR_OP2 and not f.crm & 0b1000 and f.crm & 0b0110:
            return None  # SMSTART/SMSTOP {SM|ZA}
        return "writes a PSTATE field (MSR immediate: DAIF, SPSel, PAN, ...)"
    return "a system instruction the trials do not model"
