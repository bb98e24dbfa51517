"""A64 instruction builders for the stubs: load/store text in both operand forms, ADD/SUB of
an immediate, and MOVZ/MOVK constants. No ABI decisions are made here (pairing and base
windows are in reach.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vtlgen.isa.encoding import ADD_LIMIT
from vtlgen.plan import Instruction, Slot


class OutOfRange(ValueError):
    """A slot's offset does not fit the load/store immediate."""


def instruction(mnemonic: str, operands: str, comment: str = "") -> Instruction:
    """An instruction with no context offsets: the same text in both flavours."""
    return Instruction(mnemonic, operands, operands, comment)


@dataclass(frozen=True)
class Transfer:
    """One load or store: one or two registers at one context offset."""

    slots: tuple[Slot, ...]

    @property
    def registers(self) -> set[str]:
        return {s.register for s in self.slots}


def load_store(op: str, names: Sequence[str], base: str, offset: int, macro: str | None, comment: str) -> Instruction:
    """`op` is "ld" or "st": one register gives LDR/STR, two give LDP/STP."""
    mnemonic = op + ("p" if len(names) == 2 else "r")
    regs = ", ".join(names)
    literal = f"{regs}, [{base}, #{offset}]" if offset else f"{regs}, [{base}]"
    symbolic = f"{regs}, [{base}, #{macro}]" if macro else literal
    return Instruction(mnemonic, literal, symbolic, comment)


def context_transfer(op: str, transfer: Transfer, base: str, substitute: dict[str, str], bias: int = 0) -> Instruction:
    """A load or store of context slots through `base`, which holds `ctx + bias`."""
    names = [substitute.get(s.register, s.register) for s in transfer.slots]
    first = transfer.slots[0]
    where = f"ctx->{first.field}[{first.index}" + (
        f"..{transfer.slots[-1].index}]" if len(transfer.slots) == 2 else "]"
    )
    what = ", ".join(s.register for s in transfer.slots)
    verb = "VTL0's {} from {}" if op == "ld" else "VTL0's {} to {}"
    macro = f"({first.macro} - {bias})" if bias else first.macro
    return load_store(op, names, base, first.offset - bias, macro, verb.format(what, where))


def pairs(names: Sequence[str]) -> list[tuple[str, ...]]:
    """Registers in consecutive pairs (the last alone if odd), for STP/LDP saves."""
    return [tuple(names[i : i + 2]) for i in range(0, len(names), 2)]


def materialize(register: str, value: int, width: int, macro: str | None = None) -> list[Instruction]:
    """MOVZ/MOVK for a constant: one instruction per non-zero 16-bit chunk (at least one).

    With `macro`, the Linux flavour takes each chunk from the header's constant, as it takes
    offsets from asm-offsets, so the value is written down once.
    """
    name = register if width == 64 else "w" + register[1:]
    chunks = [(shift, (value >> shift) & 0xFFFF) for shift in range(0, width, 16)]
    nonzero = [(s, c) for s, c in chunks if c] or [(0, 0)]
    out = []
    for position, (shift, chunk) in enumerate(nonzero):
        op = "movz" if position == 0 else "movk"
        shift_text = f", lsl #{shift}" if shift else ""
        literal = f"{name}, #0x{chunk:x}{shift_text}"
        symbolic = f"{name}, #(({macro} >> {shift}) & 0xffff){shift_text}" if macro else literal
        out.append(Instruction(op, literal, symbolic, ""))
    return out


def materialize_cost(value: int, width: int) -> int:
    return len(materialize("x0", value, width))


def _adjust_steps(delta: int) -> list[int] | None:
    """ADD/SUB immediates (each 12 bits, or 12 bits shifted by 12) that sum to `delta`."""
    size = abs(delta)
    if size > (ADD_LIMIT << 12 | ADD_LIMIT):
        return None
    steps = [size & (ADD_LIMIT << 12), size & ADD_LIMIT]
    return [step if delta > 0 else -step for step in steps if step]


def adjust_cost(delta: int) -> int | None:
    """How many ADD/SUB instructions add `delta` to a register; None if out of reach."""
    steps = _adjust_steps(delta)
    return None if steps is None else len(steps)


def adjust(dst: str, src: str, delta: int, comment: str) -> list[Instruction]:
    """dst = src + delta: a `mov` when delta is 0, else one ADD/SUB per immediate step."""
    steps = _adjust_steps(delta)
    if steps is None:
        raise OutOfRange(f"{delta} is out of reach of ADD/SUB (immediate)")
    if not steps:
        return [] if dst == src else [instruction("mov", f"{dst}, {src}", comment)]
    out: list[Instruction] = []
    for step in steps:
        mnemonic = "add" if step > 0 else "sub"
        shift = ", lsl #12" if abs(step) > ADD_LIMIT else ""
        immediate = abs(step) >> 12 if shift else abs(step)
        out.append(instruction(mnemonic, f"{dst}, {src}, #{immediate}{shift}", comment if not out else ""))
        src = dst
    return out
