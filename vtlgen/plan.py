"""The Plan: everything the emitters and the validator need, with no ABI logic left to do.

Plans are produced only by `lowering.py`. Templates print them, the emulator's
hypervisor model reads them, and nothing else re-derives ABI facts from the Spec.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass


@dataclass(frozen=True)
class ContextElement:
    """One C field of the context, with its asm-offsets macro."""

    name: str
    c_type: str  # element type, e.g. "u64" / "u128"
    count: int
    offset: int
    size: int
    element_size: int
    macro: str  # e.g. MSHV_VTL_CPU_CONTEXT_X (offset of the field)


@dataclass(frozen=True)
class Slot:
    """A shared register's home in the context."""

    register: str  # "x5", "q3"
    field: str
    index: int
    offset: int
    size: int
    macro: str  # e.g. MSHV_VTL_CPU_CONTEXT_X5


@dataclass(frozen=True)
class Member:
    """A C struct member as emitted, explicit padding included."""

    name: str
    c_type: str  # a type macro of the header: VTLGEN_U64, VTLGEN_U128, unsigned char
    ctypes_type: str  # the ctypes spelling of one element
    count: int
    offset: int
    size: int
    padding: bool


@dataclass(frozen=True)
class ElementMacro:
    """An asm-offsets macro for one array element, e.g. MSHV_VTL_CPU_CONTEXT_X5 = 40."""

    macro: str
    designator: str  # x[5]
    offset: int


@dataclass(frozen=True)
class ContextLayout:
    c_name: str
    macro_prefix: str
    python_class: str
    size: int
    max_size: int | None
    align: int
    elements: tuple[ContextElement, ...]
    members: tuple[Member, ...]
    element_macros: tuple[ElementMacro, ...]


@dataclass(frozen=True)
class Instruction:
    mnemonic: str
    literal: str  # operands with numeric offsets (standalone flavor)
    symbolic: str  # operands with asm-offsets macros (Linux flavor)
    comment: str

    @property
    def text(self) -> str:
        return f"{self.mnemonic} {self.literal}".strip()


@dataclass(frozen=True)
class Block:
    """A titled run of instructions; `why` cites the rule that makes it necessary."""

    title: str
    why: str
    instructions: tuple[Instruction, ...]

    @property
    def why_lines(self) -> list[str]:
        return textwrap.wrap(f"{self.title}: {self.why}", width=84)


@dataclass(frozen=True)
class FrameSlot:
    what: str
    offset: int


@dataclass(frozen=True)
class Frame:
    size: int  # bytes, a multiple of 16 (AAPCS64 SP alignment)
    record_offset: int  # the {x29, x30} frame record, at SP + record_offset
    slots: tuple[FrameSlot, ...]


@dataclass(frozen=True)
class ArgumentValue:
    register: str
    value: int | None  # None: the context address
    name: str
    comment: str
    width: int  # 32: written as wN, upper half zero (SMCCC function IDs are 32-bit)


@dataclass(frozen=True)
class ByteRange:
    """Bytes [start, start + size) relative to the context's address."""

    start: int
    size: int
    what: str


@dataclass(frozen=True)
class HypervisorModel:
    """The one home of the model's facts: what the hypervisor does at the trap and what
    the stub may do around it, derived once from the classes and the convention. Lint,
    the contract and every validation backend read these; nothing re-derives them.

    register_slots: register transport, VTL0's value is exchanged in the register.
    memory_slots: memory transport, VTL0's value is exchanged in the context.
    preserved: the caller's value comes back unchanged.
    randomized: any value may come back (clobbered, unspecified, non-result SMCCC).
    kept: GPRs the stub never writes (P3): x18 and private registers other than x29/x30/sp,
        which have rules of their own.
    poisoned: registers whose value after the call the stub must not rely on (P10).
    writable: context bytes the stub may write (the shared slots, P8).
    readable_size: context bytes the stub may read (the struct).
    region_size: bytes reserved for the context (its maximum size when the spec gives one).
    """

    is_smccc: bool
    conduit_encoding: int
    conduit_text: str
    function_id: int | None  # the SMCCC function ID, when the convention has one
    arguments: tuple[ArgumentValue, ...]
    register_slots: tuple[Slot, ...]
    memory_slots: tuple[Slot, ...]
    preserved: tuple[str, ...]
    randomized: tuple[str, ...]
    results: tuple[str, ...]
    status_register: str | None  # SMCCC returns the status in x0
    kept: tuple[str, ...]
    poisoned: tuple[str, ...]
    writable: tuple[ByteRange, ...]
    readable_size: int
    region_size: int


@dataclass(frozen=True)
class BudgetTerm:
    what: str
    count: int


@dataclass(frozen=True)
class Budget:
    """A lower bound on the dynamic instruction count of one round trip."""

    terms: tuple[BudgetTerm, ...]

    @property
    def lower_bound(self) -> int:
        return sum(term.count for term in self.terms)


@dataclass(frozen=True)
class ClassRow:
    registers: str
    class_: str
    slot: str
    note: str


@dataclass(frozen=True)
class Constant:
    name: str
    value: int
    comment: str


@dataclass(frozen=True)
class Plan:
    spec_id: str
    spec_title: str
    spec_file: str
    abi_version: str
    convention_id: str
    convention_title: str
    symbol: str
    transport: str
    bti: bool
    linux_section: str
    macro_prefix: str  # e.g. HYPERV_VTL_SMCCC
    context: ContextLayout
    classes: tuple[ClassRow, ...]
    register_classes: tuple[tuple[str, str], ...]  # every architectural register -> class
    slots: tuple[Slot, ...]  # every shared register's slot, in context order
    system_registers: tuple[tuple[str, str, bool], ...]  # name, class, writable
    not_modelled: tuple[str, ...]  # classified state no validation backend can run (SVE, SME, sysregs)
    constants: tuple[Constant, ...]
    frame: Frame
    blocks: tuple[Block, ...]
    model: HypervisorModel
    budget: Budget

    @property
    def instructions(self) -> tuple[Instruction, ...]:
        return tuple(i for block in self.blocks for i in block.instructions)
