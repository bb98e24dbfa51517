"""One path's machine state: registers as containers, memory as byte cells, the path condition.

Registers live in SLEIGH's register space; each architectural register is one container
(x0 is 8 bytes at 0x4000, z0 is 32 bytes at 0x5000 whose low 16 are q0), and a p-code
access to part of it (w0, d0) is an extract or a partial update. Memory is two regions
addressed relative to a symbol: the context (relative to its address) and the stack
(relative to the entry SP). A byte cell remembers the stored term and which byte of it it
holds, so reading back what was stored gives the same term, with no solver involved.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import z3

from vtlgen.prove import world as w

Cell = tuple[z3.BitVecRef, int]  # (term, byte index within it)


class Unproven(Exception):
    """The proof cannot go on along this path; never a pass."""


def _containers() -> dict[int, tuple[int, int]]:
    """Byte offset in register space -> (container base, size), for the modelled registers."""
    spans = [(w.PC, 8), (w.SP, 8), *((w.x_base(n), 8) for n in range(31))]
    spans += [(w.z_base(n), 32) for n in range(32)]
    spans += [(offset, 1) for offset in w.FLAGS.values()]
    spans += list(w.SCRATCH)
    out = {}
    for base, size in spans:
        for byte in range(base, base + size):
            out[byte] = (base, size)
    return out


CONTAINERS = _containers()


@dataclass
class State:
    registers: dict[int, z3.BitVecRef]
    memory: dict[str, dict[int, Cell]]
    path: list[z3.BoolRef]
    pc: int  # offset of the current instruction
    op: int = 0  # next p-code op of the current instruction
    steps: int = 0
    traps: int = 0
    poisoned: set[int] = field(default_factory=set)  # register bytes the call may have changed (P10)
    unique: dict[tuple[int, int], z3.BitVecRef] = field(default_factory=dict)
    sp_source: dict[tuple[int, int], z3.BitVecRef] = field(default_factory=dict)  # unique -> SP it came from
    start_sp: z3.BitVecRef | None = None
    frame_dirty: bool = True
    expected: dict[str, z3.BitVecRef] = field(default_factory=dict)  # what each slot must hold at the end
    writers: dict[int, int] = field(default_factory=dict)  # context byte -> the instruction that last wrote it
    trap_at: int | None = None
    broken: frozenset[tuple[str, str]] = frozenset()  # frame rules broken and not yet mended: one report per fault
    vector: dict[str, z3.BitVecRef] = field(default_factory=dict)  # SVE state outside SLEIGH's space
    v_written: set[int] = field(default_factory=set)  # Z containers the current instruction wrote

    def fork(self) -> State:
        twin = copy.copy(self)
        twin.registers = dict(self.registers)
        twin.memory = {region: dict(cells) for region, cells in self.memory.items()}
        twin.path = list(self.path)
        twin.poisoned = set(self.poisoned)
        twin.unique = dict(self.unique)
        twin.sp_source = dict(self.sp_source)
        twin.writers = dict(self.writers)
        twin.vector = dict(self.vector)
        twin.v_written = set(self.v_written)
        return twin

    # --- SVE Z registers: the low 32 bytes in SLEIGH's z container, the rest in `vector` ------

    def read_z(self, n: int, vl: int, world: w.World) -> z3.BitVecRef:
        """All VL bytes of Zn."""
        low = self.read_register(w.z_base(n), w.Z_CONTAINER, world)
        if vl <= w.Z_CONTAINER:
            return z3.Extract(8 * vl - 1, 0, low)
        return z3.Concat(self.vector[f"z{n}.high"], low)

    def zero_upper(self, n: int, vl: int, world: w.World) -> None:
        """An AdvSIMD or FP write to Vn zeroes Zn above bit 127 (Arm ARM, "SVE" register file:
        "a write to a SIMD&FP register ... zeroes the upper bits of the corresponding Z register")."""
        if vl > 16:
            low = z3.Extract(127, 0, self.read_z(n, vl, world))
            self.write_z(n, z3.ZeroExt(8 * vl - 128, low), vl)

    def vector_register(self, name: str, world: w.World) -> z3.BitVecRef:
        """A whole Z (z5), P (p3) or FFR register at the world's VL."""
        if name.startswith("z"):
            return self.read_z(int(name[1:]), world.vector_length, world)
        return self.vector[name]

    def write_z(self, n: int, value: z3.BitVecRef, vl: int) -> None:
        """Zn = value (VL bytes); container bytes past VL, which no instruction sees, become 0."""
        if vl < w.Z_CONTAINER:
            value = z3.ZeroExt(8 * (w.Z_CONTAINER - vl), value)
        elif vl > w.Z_CONTAINER:
            self.vector[f"z{n}.high"] = z3.Extract(8 * vl - 1, 8 * w.Z_CONTAINER, value)
            value = z3.Extract(8 * w.Z_CONTAINER - 1, 0, value)
        self.write_register(w.z_base(n), w.Z_CONTAINER, value)

    # --- registers ----------------------------------------------------------------------

    def container(self, offset: int, size: int) -> tuple[int, int]:
        found = CONTAINERS.get(offset)
        if found is None or offset + size > found[0] + found[1]:
            raise KeyError(offset)
        return found

    def read_register(self, offset: int, size: int, world: w.World) -> z3.BitVecRef:
        if offset == w.NZCV and size == 8:  # `mrs xN, nzcv`: the flags in bits 31-28
            bits = [z3.Extract(0, 0, self.read_register(w.FLAGS[f], 1, world)) for f in "nzcv"]
            return z3.ZeroExt(28, z3.Concat(*bits, z3.BitVecVal(0, 28)))
        base, full = self.container(offset, size)
        term = self.registers.get(base)
        if term is None:  # a SLEIGH scratch register: undefined until written
            term = self.registers[base] = world.fresh("undefined.", 8 * full)
        if size == full:
            return term
        low = 8 * (offset - base)
        return z3.Extract(low + 8 * size - 1, low, term)

    def write_register(self, offset: int, size: int, value: z3.BitVecRef) -> None:
        if offset == w.NZCV and size == 8:  # `msr nzcv, xN`
            self.registers |= w.flags_word(z3.Extract(31, 28, value))
            return
        base, full = self.container(offset, size)
        if size == full:
            self.registers[base] = value
            return
        old = self.registers.get(base, z3.BitVecVal(0, 8 * full))
        low, high = 8 * (offset - base), 8 * (offset - base + size)
        parts = []
        if high < 8 * full:
            parts.append(z3.Extract(8 * full - 1, high, old))
        parts.append(value)
        if low:
            parts.append(z3.Extract(low - 1, 0, old))
        self.registers[base] = z3.Concat(*parts) if len(parts) > 1 else parts[0]

    def register(self, name: str, world: w.World) -> z3.BitVecRef:
        base, offset, size = w.register_base(name)
        return self.read_register(base + offset, size, world)

    # --- memory -------------------------------------------------------------------------

    def load(self, region: str, start: int, size: int, world: w.World) -> z3.BitVecRef:
        cells = self.memory.setdefault(region, {})
        runs: list[tuple[z3.BitVecRef, int, int]] = []  # (term, first byte, last byte)
        for at in range(start, start + size):
            cell = cells.get(at)
            if cell is None:
                cell = (world.word(region, at // 8), at % 8)
            term, index = cell
            if runs and runs[-1][0] is term and runs[-1][2] == index - 1:
                runs[-1] = (term, runs[-1][1], index)
            else:
                runs.append((term, index, index))
        parts = []
        for term, first, last in reversed(runs):
            if first == 0 and 8 * (last + 1) == term.size():
                parts.append(term)
            else:
                parts.append(z3.Extract(8 * last + 7, 8 * first, term))
        return z3.Concat(*parts) if len(parts) > 1 else parts[0]

    def store(self, region: str, start: int, value: z3.BitVecRef) -> None:
        cells = self.memory.setdefault(region, {})
        for index in range(value.size() // 8):
            cells[start + index] = (value, index)
            if region == "ctx":
                self.writers[start + index] = self.pc
