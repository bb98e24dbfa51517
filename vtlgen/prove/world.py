"""The symbolic world a stub runs in.

Every input is a symbol: each register (all 128 bits of each Q register), each 8-byte
word of the context, the context's address and the entry SP (aligned, anywhere in 64 bits,
apart from each other), the caller's frame pointer and return address. Symbol names say
where a value comes from: `vtl2.` for VTL2's state and addresses, `vtl0.` for VTL0's,
`hv.` for what the hypervisor hands back. P2 asks whether a `vtl2.` symbol reaches a
register VTL0 sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import z3

from vtlgen.plan import Plan

WIDTH = 64
STACK_BELOW = 1 << 20  # the stub's frame may use up to 1 MiB below the entry SP
STACK_ABOVE = 1 << 12  # the caller's frames sit within 4 KiB above it
VTL2 = "vtl2."
VTL0 = "vtl0."
HYPERVISOR = "hv."


def x_base(n: int) -> int:
    return 0x4000 + 8 * n


def z_base(n: int) -> int:
    return 0x5000 + 0x20 * n


Z_CONTAINER = 0x20  # SLEIGH's z registers hold 256 bits; the bits above live in State.vector


SP = 0x8
PC = 0x0
FLAGS = {"n": 0x100, "z": 0x101, "c": 0x102, "v": 0x103}  # NG, ZR, CY, OV: one byte each, 0 or 1
NZCV = 0x1030  # SLEIGH's own `nzcv` system register; read and written as the four flags here
# SLEIGH's scratch registers: written before they are read within one instruction.
SCRATCH = (
    (0x105, 1), (0x106, 1), (0x107, 1), (0x108, 1),
    (0x3100, 4), (0x3104, 8), (0x310C, 4), (0x3110, 8),
    *((0x4800 + 0x20 * k, 32) for k in range(6)),
)  # fmt: skip


def register_base(name: str) -> tuple[int, int, int]:
    """(container base, byte offset in it, size) of a spec register name: x5, q3, sp."""
    if name == "sp":
        return SP, 0, 8
    if name.startswith("x"):
        return x_base(int(name[1:])), 0, 8
    if name.startswith("q"):
        return z_base(int(name[1:])), 0, 16
    raise KeyError(name)


def flags_word(nzcv: z3.BitVecRef) -> dict[int, z3.BitVecRef]:
    """The four flag bytes of a 4-bit NZCV value (N is bit 3)."""
    return {FLAGS[f]: z3.ZeroExt(7, z3.Extract(3 - i, 3 - i, nzcv)) for i, f in enumerate("nzcv")}


@dataclass(frozen=True)
class Addresses:
    """Concrete addresses of the four address symbols."""

    ctx: int
    sp: int
    fp: int
    lr: int


@dataclass(frozen=True)
class Region:
    """Memory the stub may touch, addressed relative to a symbol: `origin` prefixes the
    symbols of its initial words."""

    name: str
    base: z3.BitVecRef
    size: int
    origin: str
    writable: bool = True


@dataclass
class World:
    """The inputs of one proof: symbols, their constraints, and the model's facts."""

    plan: Plan
    code_base: int
    code_size: int
    reference: Addresses  # where a trial puts things: counterexamples stay there when they can
    vector_length: int = 0  # bytes; 0: no SVE state (a proof at one VL: vtlgen.isa.vector_length)
    ctx: z3.BitVecRef = field(init=False)
    sp: z3.BitVecRef = field(init=False)
    fp: z3.BitVecRef = field(init=False)
    lr: z3.BitVecRef = field(init=False)
    counter: int = 0
    words: dict[tuple[str, int], z3.BitVecRef] = field(default_factory=dict)
    regions: dict[str, Region] = field(init=False)

    def __post_init__(self) -> None:
        self.ctx = z3.BitVec(f"{VTL2}ctx_address", WIDTH)
        self.sp = z3.BitVec(f"{VTL2}sp", WIDTH)
        self.fp = z3.BitVec(f"{VTL2}x29", WIDTH)
        self.lr = z3.BitVec(f"{VTL2}x30", WIDTH)
        self.regions = {"ctx": Region("ctx", self.ctx, self.max_size, VTL0)}

    @property
    def max_size(self) -> int:
        """The context region: its reservation, or the extended context at this VL when larger."""
        context = self.plan.context
        reserved = context.max_size or context.size
        return max(reserved, context.size_at(self.vector_length)) if self.vector_length else reserved

    @property
    def readable_size(self) -> int:
        """Bytes of the context a stub may read: the struct, and at a VL its extended part."""
        context = self.plan.context
        return context.size_at(self.vector_length) if self.vector_length else context.size

    def constraints(self) -> list[z3.BoolRef]:
        top = (1 << WIDTH) - 1
        align = max(16, self.plan.context.align)
        ctx, sp, fp, lr = self.ctx, self.sp, self.fp, self.lr
        code_end = self.code_base + self.code_size
        return [
            ctx & (align - 1) == 0,
            z3.ULE(ctx, top - self.max_size),
            sp & 15 == 0,  # AAPCS64: SP mod 16 = 0 at a public interface
            z3.ULE(STACK_BELOW, sp),
            z3.ULE(sp, top - STACK_ABOVE),
            z3.Or(z3.ULE(ctx + self.max_size, sp - STACK_BELOW), z3.ULE(sp + STACK_ABOVE, ctx)),
            fp & 15 == 0,
            z3.ULE(sp, fp),
            z3.ULT(fp, sp + STACK_ABOVE - 16),
            lr & 3 == 0,
            z3.Or(z3.ULT(lr, self.code_base), z3.UGE(lr, code_end)),
        ]

    def at_reference(self) -> list[z3.BoolRef]:
        """The trials' address map, where a counterexample replays as a unicorn trial."""
        r = self.reference
        return [self.ctx == r.ctx, self.sp == r.sp, self.fp == r.fp, self.lr == r.lr]

    def fresh(self, prefix: str, bits: int) -> z3.BitVecRef:
        self.counter += 1
        return z3.BitVec(f"{prefix}{self.counter}", bits)

    def word(self, region: str, index: int) -> z3.BitVecRef:
        """The initial 8-byte word `index` of a region (offsets relative to its base)."""
        key = (region, index)
        if key not in self.words:
            known = self.regions.get(region)
            origin = known.origin if known is not None else VTL2
            self.words[key] = z3.BitVec(f"{origin}{region}{8 * index:+#x}", 64)
        return self.words[key]

    def entry_registers(self) -> dict[int, z3.BitVecRef]:
        regs: dict[int, z3.BitVecRef] = {x_base(n): z3.BitVec(f"{VTL2}x{n}", 64) for n in range(1, 29)}
        regs[x_base(0)] = self.ctx  # void f(struct ctx *ctx): the argument in x0 (aapcs64)
        regs[x_base(29)], regs[x_base(30)], regs[SP] = self.fp, self.lr, self.sp
        for n in range(32):
            regs[z_base(n)] = z3.Concat(z3.BitVec(f"{VTL2}z{n}_upper", 128), z3.BitVec(f"{VTL2}q{n}", 128))
        regs |= flags_word(z3.BitVec(f"{VTL2}nzcv", 4))
        regs[PC] = z3.BitVecVal(self.code_base, 64)
        return regs

    def vector_entry_registers(self) -> dict[str, z3.BitVecRef]:
        """SVE state at entry beyond the 32-byte Z containers: Z bits from 256 up (when VL > 32),
        P0-P15 and FFR (VL / 8 bytes), PSTATE.ZA and a token for ZA's contents (VTL2's: the
        caller's, AAPCS64 SME). PSTATE.SM is 0: the specs' entry requirement (svcr.sm = 0)."""
        vl = self.vector_length
        if not vl:
            return {}
        regs: dict[str, z3.BitVecRef] = {}
        if vl > Z_CONTAINER:
            for n in range(32):
                regs[f"z{n}.high"] = z3.BitVec(f"{VTL2}z{n}_high", 8 * (vl - Z_CONTAINER))
        for n in range(16):
            regs[f"p{n}"] = z3.BitVec(f"{VTL2}p{n}", vl)
        regs["ffr"] = z3.BitVec(f"{VTL2}ffr", vl)
        regs["svcr.za"] = z3.BitVec(f"{VTL2}svcr_za", 1)
        regs["za"] = z3.BitVec(f"{VTL2}za", 64)
        return regs

    def is_vtl2(self, term: z3.ExprRef) -> bool:
        """Depends on a VTL2 symbol, or is an address in the stub's code (VTL2's text)."""
        if z3.is_bv_value(term) and self.code_base <= term.as_long() < self.code_base + self.code_size:
            return True
        return any(str(v).startswith(VTL2) for v in symbols(term))


def symbols(term: z3.ExprRef) -> set[z3.ExprRef]:
    """The uninterpreted constants a term depends on."""
    seen: set[int] = set()
    out: set[z3.ExprRef] = set()
    stack = [term]
    while stack:
        t = stack.pop()
        if t.get_id() in seen:
            continue
        seen.add(t.get_id())
        if z3.is_const(t) and t.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            out.add(t)
        else:
            stack.extend(t.children())
    return out
