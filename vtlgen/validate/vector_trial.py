"""SVE/SME state in a trial: the entry values, VTL0's values in the extended context, and the
hypervisor model's move at the trap, at one vector length. `vtlgen.validate.trial.TrialFactory` calls
this when it is made with a vector length; every backend then loads, moves and reports the
same bytes (names as in `InitialState.vector`).

Values are tagged like the GPRs' so a VTL2 value where VTL0 can look is recognised: every
8-byte word of a Z register carries its origin in its top byte. P registers are short (two
bytes at VL 16), so they are random and compared whole. FFR only ever holds a monotonic
value, a run of ones from the lowest bit (Arm ARM, "WRFFR": other values make the FFR
CONSTRAINED UNPREDICTABLE), so each origin gets a run of a different length.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass

from vtlgen.isa.vector_length import is_architectural
from vtlgen.plan import Plan, VectorModel, VectorSlot

Z_REGISTERS = tuple(f"z{n}" for n in range(32))
P_REGISTERS = tuple(f"p{n}" for n in range(16))
TAG_VTL2 = 0xA4
TAG_VTL0 = 0x74
TAG_VTL0_NEW = 0x75
TAG_CLOBBER = 0xC4
MAX_STREAMING_LENGTH = 64  # bytes of SVL the trials use: ZA is SVL x SVL, 4 KiB here


def streaming_length(vector_length: int) -> int:
    """The SME streaming vector length used beside `vector_length`: a power of two (Arm ARM,
    "SMCR_ELx.LEN": SVLs are powers of two), at most the VL and MAX_STREAMING_LENGTH."""
    return min(1 << (vector_length.bit_length() - 1), MAX_STREAMING_LENGTH)


def _words(rng: random.Random, tag: int, register: int, count: int) -> bytes:
    """`count` tagged 8-byte words: origin in the top byte, register number in the next."""
    randoms = struct.unpack(f"<{count}Q", rng.randbytes(8 * count))
    top = (tag << 56) | ((register & 0xFF) << 48)
    return struct.pack(f"<{count}Q", *(top | (r & ((1 << 48) - 1)) for r in randoms))


@dataclass(frozen=True)
class VectorMove:
    """The model's move on SVE/SME state at the trap (see `trial.Switch`)."""

    registers: tuple[tuple[str, bytes], ...]
    memory: tuple[tuple[int, bytes], ...]
    expected: dict[str, bytes]


class VectorTrials:
    """Entry values and moves of SVE/SME state for one plan at one vector length."""

    def __init__(self, plan: Plan, vector_length: int):
        if not is_architectural(vector_length):
            raise ValueError(f"vector length {vector_length}: expected a multiple of 16 in 16..256")
        self.plan = plan
        model = plan.model.vector
        assert model is not None  # every plan has one (lowering)
        self.model: VectorModel = model
        self.vl = vector_length
        self.svl = streaming_length(vector_length)
        self.p_size = vector_length // 8

    @property
    def context_size(self) -> int:
        """Bytes of the context at this vector length, extended part included."""
        return self.plan.context.size_at(self.vl, self.svl)

    def slot_value(self, slot: VectorSlot, region: bytes, guard: int) -> bytes:
        start = guard + slot.offset(self.vl, self.svl)
        return region[start : start + slot.size(self.vl, self.svl)]

    # --- values --------------------------------------------------------------------------

    def _z(self, rng: random.Random, tag: int, n: int, low: int | None = None) -> bytes:
        """A whole Z register: `low` (a Q value) in its first 16 bytes, when given."""
        upper = _words(rng, tag, n, (self.vl - 16) // 8)
        first = low.to_bytes(16, "little") if low is not None else _words(rng, tag, n, 2)
        return first + upper

    def _ffr(self, rng: random.Random, avoid: set[int]) -> tuple[bytes, int]:
        """A monotonic FFR value whose run length is not in `avoid`."""
        lengths = [k for k in range(self.vl + 1) if k not in avoid]
        k = rng.choice(lengths)
        return ((1 << k) - 1).to_bytes(self.p_size, "little"), k

    def _value(self, rng: random.Random, name: str, tag: int, avoid: set[int]) -> bytes:
        if name == "za":
            return rng.randbytes(self.svl * self.svl)
        if name == "ffr":
            value, k = self._ffr(rng, avoid)
            avoid.add(k)
            return value
        if name[0] == "z":
            return self._z(rng, tag, int(name[1:]))
        return rng.randbytes(self.p_size)

    def entry(self, rng: random.Random, q_values: dict[str, int]) -> tuple[dict[str, bytes], set[int]]:
        """VTL2's SVE/SME state at the call, whose low Z bits are the Q entry values, and the
        set of tagged words it holds (VTL2 values, P2)."""
        state = {f"z{n}": self._z(rng, TAG_VTL2, n, q_values[f"q{n}"]) for n in range(32)}
        state.update({p: rng.randbytes(self.p_size) for p in P_REGISTERS})
        state["ffr"], _ = self._ffr(rng, set())
        state["za"] = rng.randbytes(self.svl * self.svl)  # ZA live at entry: a caller's
        words = {w for n in range(32) for w in struct.unpack(f"<{self.vl // 8}Q", state[f"z{n}"])[2:]}
        return state, words

    def fill_context(self, rng: random.Random, region: bytearray, guard: int, entry_ffr: bytes) -> None:
        """VTL0's values in the extended context's shared slots (the rest stays random); an
        FFR slot gets a run length other than VTL2's `entry_ffr`."""
        avoid = {int.from_bytes(entry_ffr, "little").bit_length()}
        for slot in self.model.slots:
            value = self._value(rng, slot.register, TAG_VTL0, avoid)
            start = guard + slot.offset(self.vl, self.svl)
            region[start : start + len(value)] = value

    def used_ffr_lengths(self, entry_ffr: bytes, region: bytes, guard: int) -> set[int]:
        """The FFR run lengths a trial already holds (at entry and in the context), read from
        its state: so a backend may draw every state of a batch before their moves."""
        used = {int.from_bytes(entry_ffr, "little").bit_length()}
        for slot in self.model.slots:
            if slot.register == "ffr":
                used.add(int.from_bytes(self.slot_value(slot, region, guard), "little").bit_length())
        return used

    def move(self, rng: random.Random, used: set[int]) -> VectorMove:
        """VTL0 runs: shared state gets new VTL0 values (in the registers or the context),
        clobbered state is randomized, the rest is kept. `used`: `used_ffr_lengths`."""
        avoid = set(used)
        registers: list[tuple[str, bytes]] = []
        memory: list[tuple[int, bytes]] = []
        expected: dict[str, bytes] = {}
        for slot in self.model.register_slots:
            value = self._value(rng, slot.register, TAG_VTL0_NEW, avoid)
            registers.append((slot.register, value))
            expected[slot.register] = value
        for slot in self.model.memory_slots:
            value = self._value(rng, slot.register, TAG_VTL0_NEW, avoid)
            memory.append((slot.offset(self.vl, self.svl), value))
            expected[slot.register] = value
        for name in self.model.randomized:
            if name == "z_upper":
                if self.vl == 16:
                    continue  # no bits above 127
                # Only the bits above 127: a move of VL - 16 bytes (backends/base.py).
                registers += [(z, _words(rng, TAG_CLOBBER, n, (self.vl - 16) // 8)) for n, z in enumerate(Z_REGISTERS)]
            else:
                registers.append((name, self._value(rng, name, TAG_CLOBBER, avoid)))
        return VectorMove(tuple(registers), tuple(memory), expected)
