"""Capstone behind one object: per-instruction facts the validator needs.

Register names are normalised to the spec's: `fp` -> x29, `lr` -> x30, `wN` -> xN and
`dN`/`sN`/`vN` -> qN, so that a register class has one meaning everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import capstone
from capstone import arm64_const

_ALIASES = {"fp": "x29", "lr": "x30", "wsp": "sp"}
_SCALAR = re.compile(r"^([wxbhsdqv])(\d+)$")


def normalise(name: str) -> str | None:
    """The spec's name for a capstone register name; None for zero registers."""
    name = _ALIASES.get(name, name)
    if name in ("xzr", "wzr"):
        return None
    match = _SCALAR.match(name)
    if match:
        kind, number = match.groups()
        return f"x{number}" if kind in "wx" else f"q{number}"
    return name


@dataclass(frozen=True)
class Access:
    """A load or store whose address follows from registers before it executes."""

    write: bool
    size: int  # bytes, both registers of a pair included
    base: str
    index: str | None
    shift: int  # index << shift
    displacement: int
    post_index: bool  # `[base], #imm`: the access is at base


@dataclass(frozen=True)
class Decoded:
    offset: int
    text: str  # capstone's disassembly
    reads: frozenset[str]
    writes: frozenset[str]
    base: str | None  # base register of a memory operand
    displacement: int
    writeback: bool
    pre_index: bool  # writeback with the offset applied before the access
    memory: bool  # has a memory operand (or loads a literal)
    access: Access | None  # None for a memory instruction whose address is not modelled here


# Plain loads and stores: mnemonic -> bytes per register (0: the register's own width).
_ACCESS_WIDTH = {
    "ldr": 0, "str": 0, "ldur": 0, "stur": 0, "ldp": 0, "stp": 0, "ldnp": 0, "stnp": 0,
    "ldrb": 1, "strb": 1, "ldurb": 1, "sturb": 1, "ldrsb": 1, "ldursb": 1,
    "ldrh": 2, "strh": 2, "ldurh": 2, "sturh": 2, "ldrsh": 2, "ldursh": 2,
    "ldrsw": 4, "ldursw": 4, "ldpsw": 4,
}  # fmt: skip
_REGISTER_WIDTH = {"w": 4, "x": 8, "b": 1, "h": 2, "s": 4, "d": 8, "q": 16}


def _access(insn: capstone.CsInsn, base: str | None, displacement: int, post_index: bool) -> Access | None:
    width = _ACCESS_WIDTH.get(insn.mnemonic)
    if width is None or base is None:
        return None
    data = [
        _ALIASES.get(n, n) for n in (insn.reg_name(o.reg) for o in insn.operands if o.type == arm64_const.ARM64_OP_REG)
    ]
    pair = insn.mnemonic in ("ldp", "stp", "ldnp", "stnp", "ldpsw")
    data = data[:2] if pair else data[:1]
    if not data:
        return None
    if width == 0:
        width = _REGISTER_WIDTH.get(data[0][0], 0)
        if data[0] in ("xzr", "sp"):
            width = 8
        elif data[0] == "wzr":
            width = 4
    if width == 0:
        return None
    index, shift = None, 0
    for operand in insn.operands:
        if operand.type == arm64_const.ARM64_OP_MEM and operand.mem.index:
            if operand.ext not in (0,) or operand.shift.type not in (0, arm64_const.ARM64_SFT_LSL):
                return None  # extended index registers: leave to the memory hooks
            index = normalise(insn.reg_name(operand.mem.index))
            shift = operand.shift.value
    write = insn.mnemonic.startswith("st")
    return Access(write, width * len(data), base, index, shift, displacement, post_index)


@lru_cache(maxsize=1)
def _engine() -> capstone.Cs:
    engine = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
    engine.detail = True
    return engine


def _names(insn: capstone.CsInsn, ids: list[int]) -> frozenset[str]:
    out = set()
    for reg in ids:
        name = normalise(insn.reg_name(reg))
        if name:
            out.add(name)
    return frozenset(out)


@lru_cache(maxsize=256)
def decode(code: bytes) -> tuple[Decoded, ...]:
    """Decode every 4-byte slot; undecodable words become `.word` entries."""
    out: list[Decoded] = []
    for offset in range(0, len(code), 4):
        word = code[offset : offset + 4]
        insns = list(_engine().disasm(word, offset))
        if not insns:
            value = int.from_bytes(word, "little")
            out.append(
                Decoded(offset, f".word 0x{value:08x}", frozenset(), frozenset(), None, 0, False, False, False, None)
            )
            continue
        insn = insns[0]
        reads, writes = insn.regs_access()
        base, displacement, memory = None, 0, False
        for operand in insn.operands:
            if operand.type == arm64_const.ARM64_OP_MEM:
                memory = True
                base = normalise(insn.reg_name(operand.mem.base)) if operand.mem.base else None
                displacement = operand.mem.disp
        writeback = bool(getattr(insn, "writeback", False))
        # `[sp, #-16]!` (pre-index) has a displacement; `[sp], #16` (post-index) has none.
        pre_index = writeback and displacement != 0
        post_index = writeback and displacement == 0
        # Literal loads (`ldr x0, label`) and other forms are memory instructions too.
        memory = memory or insn.mnemonic.startswith(("ld", "st", "prfm", "cas", "swp"))
        access = _access(insn, base, displacement, post_index) if memory else None
        text = f"{insn.mnemonic} {insn.op_str}".strip()
        out.append(
            Decoded(
                offset,
                text,
                _names(insn, reads),
                _names(insn, writes),
                base,
                displacement,
                writeback,
                pre_index,
                memory,
                access,
            )
        )
    return tuple(out)
