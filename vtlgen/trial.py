"""What one validation trial starts from, and what the hypervisor model does at the trap.

Both validation backends (unicorn, qemu-user) use these, with the same address map and
the same random stream, so one seed means the same trial everywhere. Values are random,
distinct and tagged: the top byte says where a value came from, so a VTL2 value found
where VTL0 can look is recognised as a leak (ARCHITECTURE.md "Validation").
"""

from __future__ import annotations

import random
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from vtlgen import registers
from vtlgen.plan import Plan

# Address map of a trial. qemu-user maps the same addresses with MAP_FIXED.
CONTEXT_PAGE = 0x5000_0000
REGION = 0x800  # the context with guard bytes on both sides
GUARD = 0x400  # the context starts this far into the region
CONTEXT = CONTEXT_PAGE + GUARD
STACK = 0x7000_0000
STACK_SIZE = 0x0001_0000
ENTRY_SP = STACK + STACK_SIZE - 0x100  # above it: the caller's frames
CALLER_RECORD = ENTRY_SP + 0x40  # the caller's frame record {grand-caller fp, caller lr}
GRAND_RECORD = ENTRY_SP + 0x80
CALLER_LR = 0x0004_0800  # return addresses inside the callers (never executed)
GRAND_LR = 0x0004_0900
STACK_SCRUB = 0x2000  # the stub's frame lives in the top of the stack; zero it per trial

TAG_VTL2 = 0xA2
TAG_VTL2_VECTOR = 0xA3
TAG_VTL0 = 0x70
TAG_VTL0_NEW = 0x71
TAG_CLOBBER = 0xC1
MASK64 = (1 << 64) - 1
_LOW48 = (1 << 48) - 1

STATUS_SUCCESS = 0  # HV_STATUS_SUCCESS, returned in x0 by SMCCC calls

ENTRY_GPRS = tuple(f"x{n}" for n in range(31))
VECTORS = tuple(f"q{n}" for n in range(32))


@dataclass
class InitialState:
    seed: int
    rng: random.Random
    entry: dict[str, int]  # every modelled register at the call
    region: bytes  # the context region as VTL0 left it (guards included)
    vtl2_values: set[int]  # 64-bit values that belong to VTL2

    def slot_value(self, offset: int, size: int) -> int:
        return int.from_bytes(self.region[GUARD + offset : GUARD + offset + size], "little")

    def expected_region(self, plan: Plan, slots: Mapping[str, int]) -> bytes:
        """The region as it must be after the return: VTL0's new values in the shared slots."""
        region = bytearray(self.region)
        for slot in plan.slots:
            if slot.register in slots:
                start = GUARD + slot.offset
                region[start : start + slot.size] = slots[slot.register].to_bytes(slot.size, "little")
        return bytes(region)


@dataclass(frozen=True)
class Switch:
    """The model's move at the trap: new register values, new context bytes."""

    registers: tuple[tuple[str, int], ...]  # in the order of `TrialFactory.switched`
    memory: tuple[tuple[int, bytes], ...]  # (context offset, bytes)
    expected_slots: dict[str, int]  # what each shared slot must hold after the return


def _value(rng: random.Random, tag: int, index: int) -> int:
    return (tag << 56) | ((index & 0xFF) << 48) | rng.getrandbits(48)


def _vector(rng: random.Random, tag: int, index: int) -> int:
    high = (tag << 56) | ((index & 0xFF) << 48) | rng.getrandbits(48)
    return (high << 64) | (tag << 56) | (((0x80 | index) & 0xFF) << 48) | rng.getrandbits(48)


def _slot_random(rng: random.Random, tag: int, size: int, index: int) -> int:
    return _vector(rng, tag, index) if size == 16 else _value(rng, tag, index)


class TrialFactory:
    """Initial states and model moves for one plan."""

    def __init__(self, plan: Plan):
        self.plan = plan
        model = plan.model
        self.randomized = [r for r in model.randomized if r in (*ENTRY_GPRS, *VECTORS, "nzcv")]
        self.switched = [s.register for s in model.register_slots] + self.randomized
        if model.status_register:
            self.switched.append(model.status_register)
        self._entry_tags = [(TAG_VTL2 << 56) | (n << 48) for n in range(29)] + [
            (TAG_VTL2_VECTOR << 56) | ((n if half == 0 else 0x80 | n) << 48) for n in range(32) for half in (0, 1)
        ]
        self._entry_unpack = struct.Struct(f"<{len(self._entry_tags)}Q").unpack
        # Shared slots as 8-byte words of the region.
        self._chunks = sorted({(GUARD + s.offset) // 8 + i for s in plan.slots for i in range(s.size // 8)})
        self._chunk_unpack = struct.Struct(f"<{len(self._chunks)}Q").unpack

    def initial(self, seed: int, return_address: int) -> InitialState:
        rng = random.Random(seed)
        randoms = self._entry_unpack(rng.randbytes(8 * len(self._entry_tags)))
        tagged = [tag | (r & _LOW48) for tag, r in zip(self._entry_tags, randoms, strict=True)]
        entry = dict(zip(ENTRY_GPRS[:29], tagged[:29], strict=True))
        entry["x0"] = CONTEXT  # void f(struct ctx *ctx)
        entry["x29"] = CALLER_RECORD
        entry["x30"] = return_address
        entry["sp"] = ENTRY_SP
        halves = tagged[29:]
        for n in range(32):
            entry[f"q{n}"] = (halves[2 * n] << 64) | halves[2 * n + 1]
        entry["nzcv"] = rng.getrandbits(4) << 28
        region = bytearray(rng.randbytes(REGION))
        words = memoryview(region).cast("Q")
        chunk_randoms = self._chunk_unpack(rng.randbytes(8 * len(self._chunks)))
        for chunk, r in zip(self._chunks, chunk_randoms, strict=True):
            words[chunk] = (TAG_VTL0 << 56) | ((chunk & 0xFF) << 48) | (r & _LOW48)
        words.release()
        return InitialState(seed, rng, entry, bytes(region), set(tagged[1:29]) | set(halves))

    def switch(self, state: InitialState) -> Switch:
        """VTL0 runs: everything the ABI lets change, changes (ARCHITECTURE.md)."""
        rng = state.rng
        model = self.plan.model
        values: list[tuple[str, int]] = []
        expected: dict[str, int] = {}
        for slot in model.register_slots:
            new = _slot_random(rng, TAG_VTL0_NEW, slot.size, slot.index)
            values.append((slot.register, new))
            expected[slot.register] = new
        memory = []
        for slot in model.memory_slots:
            new = _slot_random(rng, TAG_VTL0_NEW, slot.size, slot.index)
            memory.append((slot.offset, new.to_bytes(slot.size, "little")))
            expected[slot.register] = new
        for name in self.randomized:
            if name == "nzcv":
                values.append((name, rng.getrandbits(4) << 28))
            elif name.startswith("q"):
                values.append((name, _vector(rng, TAG_CLOBBER, registers.number(name))))
            else:
                values.append((name, _value(rng, TAG_CLOBBER, registers.number(name))))
        if model.status_register:
            values.append((model.status_register, STATUS_SUCCESS))
        return Switch(tuple(values), tuple(memory), expected)
