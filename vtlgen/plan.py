"""The Plan: everything the emitters and the validator need, with no ABI logic left to do.

Plans are produced only by `vtlgen/lower/convention.py`. Templates print them, the emulator's
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


# Element size per quadword of vector length (vq = VL / 16), as Linux's SVE_SIG_ZREG_SIZE(vq)
# and SVE_SIG_PREG_SIZE(vq) (arch/arm64/include/uapi/asm/sigcontext.h). ZA is SVL x SVL.
BYTES_PER_VQ = {"zreg": 16, "preg": 2}


@dataclass(frozen=True)
class VlElement:
    """A context field sized by the vector length VL (bytes); fields are packed in order from
    `base`, so `offset(vl, n) = base + before * vq + n * element_size(vl)` with vq = VL / 16.
    The header prints it as `<macro>_OFFSET(vq, n)` and `<macro>_SIZE(vq)`."""

    name: str
    kind: str  # "zreg" (VL bytes), "preg" (VL / 8 bytes), "za" (SVL x SVL bytes; always last)
    count: int
    macro: str  # e.g. MSHV_VTL_CPU_CONTEXT_Z
    base: int  # where the VL-scaled part starts: a fixed offset
    before: int  # bytes per vq of the fields before this one

    def element_size(self, vl: int, svl: int = 0) -> int:
        if self.kind == "za":
            return svl * svl
        return BYTES_PER_VQ[self.kind] * (vl // 16)

    def offset(self, vl: int, index: int = 0, svl: int = 0) -> int:
        return self.base + self.before * (vl // 16) + index * self.element_size(vl, svl)

    def end(self, vl: int, svl: int = 0) -> int:
        return self.offset(vl, self.count, svl)


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
    vl_elements: tuple[VlElement, ...] = ()  # the extended, VL-scaled part; empty: none
    max_vl: int = 0  # bytes; 0 when there is no VL-scaled part

    def size_at(self, vl: int, svl: int = 0) -> int:
        """Bytes the whole context takes at vector length `vl` (and streaming length `svl`)."""
        if not self.vl_elements:
            return self.size
        return max(self.size, self.vl_elements[-1].end(vl, svl))


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
    value: int | None  # None: the context address, or the caller's value when from_caller
    name: str
    comment: str
    width: int  # 32: written as wN, upper half zero (SMCCC function IDs are 32-bit)
    from_caller: bool = False  # a C argument passed through: the trap sees the caller's register

    @property
    def is_context(self) -> bool:
        return self.value is None and not self.from_caller


@dataclass(frozen=True)
class ByteRange:
    """Bytes [start, start + size) relative to the context's address."""

    start: int
    size: int
    what: str


@dataclass(frozen=True)
class VectorSlot:
    """A shared piece of SVE/SME state and its VL-scaled home in the context."""

    register: str  # "z5" (all VL bytes of Z5: Q5 and the bits above), "p3", "ffr", "za"
    element: VlElement
    index: int

    def offset(self, vl: int, svl: int = 0) -> int:
        return self.element.offset(vl, self.index, svl)

    def size(self, vl: int, svl: int = 0) -> int:
        return self.element.element_size(vl, svl)

    @property
    def q(self) -> str | None:
        """The Q register a whole Z slot carries in its low 16 bytes ("z5" -> "q5"), else None."""
        name = self.register
        return f"q{name[1:]}" if name[0] == "z" and name[1:].isdigit() else None


@dataclass(frozen=True)
class Requirement:
    """An entry requirement of the spec (e.g. SVCR.SM = 0), and why."""

    state: str
    value: int
    reason: str


@dataclass(frozen=True)
class VectorModel:
    """What the hypervisor does with SVE/SME state on a CPU that has it, derived once from
    the classes like the rest of the model. Names: `z_upper` (bits above 127 of every Z),
    `z0`-`z31` (a whole Z register), `p0`-`p15`, `ffr`, `za`.

    register_slots: exchanged in the registers (register transport): the stub loads and stores.
    memory_slots: exchanged in the context by the hypervisor (memory transport).
    randomized: clobbered or unspecified, and not preserved by the convention.
    kept: the hypervisor keeps the caller's value (private, or preserved by the convention).
    stub_keeps: what the stub itself must return as it found it (P5): ZA when the spec makes
        it the caller's (AAPCS64's SME rules: a private-ZA function leaves ZA alone).
    visible_upper: Z registers whose low 128 bits VTL0 receives in the register bank, so all
        of their bits are visible to VTL0 at the trap (P2 covers the bits above 127).
    vector_lengths: the VLs (bytes) validation runs at.
    """

    register_slots: tuple[VectorSlot, ...]
    memory_slots: tuple[VectorSlot, ...]
    randomized: tuple[str, ...]
    kept: tuple[str, ...]
    stub_keeps: tuple[str, ...]
    visible_upper: tuple[str, ...]
    vector_lengths: tuple[int, ...]
    requirements: tuple[Requirement, ...]

    @property
    def slots(self) -> tuple[VectorSlot, ...]:
        return self.register_slots + self.memory_slots


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
    vector: VectorModel | None = None  # SVE/SME state: None when the spec classifies none


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
    not_modelled: tuple[str, ...]  # classified state no validation backend runs (ZT0, FPCR/FPSR, sysregs)
    vector_groups: tuple[str, ...]  # SVE/SME register groups only a backend that observes VECTOR runs
    constants: tuple[Constant, ...]
    frame: Frame
    blocks: tuple[Block, ...]
    model: HypervisorModel
    budget: Budget

    @property
    def instructions(self) -> tuple[Instruction, ...]:
        return tuple(i for block in self.blocks for i in block.instructions)

    def prototype(self, u64: str = "u64") -> str:
        """The C declaration the stub implements, without the `;`: one home for the headers,
        the stubs' comments and the Documentation page. Parameters in AAPCS64 order (x0
        first): the context pointer, then each argument passed through to the trap, as a
        `u64` (spelled as the header spells it) named after it."""
        passed = sorted((a for a in self.model.arguments if a.from_caller), key=lambda a: int(a.register[1:]))
        parameters = (f"struct {self.context.c_name} *ctx", *(f"{u64} {a.comment}" for a in passed))
        return f"void {self.symbol}({', '.join(parameters)})"
