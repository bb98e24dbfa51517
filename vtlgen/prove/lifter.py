"""Machine code to p-code with pypcode (Ghidra's SLEIGH AArch64 specification).

Each instruction is lifted on its own, so a branch into the middle of a block, or an
instruction that does not decode, concerns only the paths that reach it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pypcode

LANGUAGE = "AARCH64:LE:64:v8A"
_HINT = 0xD503201F  # HINT #imm: _HINT | imm << 5 (Arm ARM, C6.2 HINT)
# Pointer-authentication hints (XPACLRI, PACIA1716 ... AUTIBSP) change x17 or x30 when PAC is on;
# SLEIGH's v8A reading makes them no-ops, so the proof must not pass over them.
_PAC_HINTS = frozenset({7, 8, 10, 12, 14, *range(24, 32)})


@dataclass(frozen=True)
class Lifted:
    offset: int
    word: int
    ops: tuple[pypcode.PcodeOp, ...]  # without the IMARK
    error: str | None  # why SLEIGH could not lift it


@lru_cache(maxsize=1)
def context() -> pypcode.Context:
    return pypcode.Context(LANGUAGE)


def relative_target(varnode: pypcode.Varnode) -> int:
    """A p-code branch inside one instruction: a constant op index relative to the branch."""
    offset, size = int(varnode.offset), int(varnode.size)
    return offset - (1 << (8 * size)) if offset >> (8 * size - 1) else offset


@lru_cache(maxsize=64)
def lift(code: bytes, base: int) -> tuple[Lifted, ...]:
    out = []
    for offset in range(0, len(code) - len(code) % 4, 4):
        word = int.from_bytes(code[offset : offset + 4], "little")
        if word & ~(0x7F << 5) == _HINT and (word >> 5) & 0x7F in _PAC_HINTS:
            hint = (word >> 5) & 0x7F
            out.append(Lifted(offset, word, (), f"pointer authentication (hint #{hint}) is not modelled"))
            continue
        try:
            translation = context().translate(code, base + offset, offset, 4, 1)
        except (pypcode.BadDataError, pypcode.UnimplError) as error:
            out.append(Lifted(offset, word, (), f"SLEIGH cannot lift it: {error}"))
            continue
        ops = tuple(op for op in translation.ops if op.opcode != pypcode.OpCode.IMARK)
        out.append(Lifted(offset, word, ops, None))
    return tuple(out)
