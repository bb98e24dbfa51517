"""What one validation trial starts from, and what the hypervisor model does at the trap.

Every backend uses these, so one seed means the same trial everywhere. The inputs hunt:
- the context and the stack sit at fresh 16-byte-aligned addresses above 4 GiB in each
  trial, so a pointer truncated to 32 bits, or address arithmetic that holds at one
  alignment only (`orr` for `add`), breaks;
- in most trials about three in four of the values VTL0 and the caller hand in, and of
  those the call hands back, are edge cases (0, all-ones, only the sign bit, small numbers, a copy
  of another value), so a branch on one of them takes both ways;
- the rest are random and tagged: the top byte says where a value came from, so a VTL2
  value found where VTL0 can look is recognised as a leak. VTL2's callee-saved values
  stay tagged in every trial for that reason.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from vtlgen import registers
from vtlgen.plan import Plan

# Windows above 4 GiB that the backends map once; each trial places the context and the
# entry SP at a random 16-byte-aligned address inside them.
CONTEXT_WINDOW = 0x5_5000_0000
STACK_WINDOW = 0x7_7000_0000
WINDOW_SIZE = 0x0010_0000
GUARD = 0x100  # bytes observed on each side of the context's reserved area
STACK_ROOM = 0x0001_0000  # below the entry SP: the stub's frame and the model's scribble
CALLER_AREA = 0x100  # above the entry SP: the caller's frame records
STACK_SCRUB = 0x2000  # the stub's frame lives in the top of its stack; zero it per trial
SCRIBBLE = 0x200  # bytes below SP the model overwrites at the trap, as an interrupt would
CALLER_LR = 0x0004_0800  # return addresses inside the callers (never executed)
GRAND_LR = 0x0004_0900

TAG_VTL2 = 0xA2
TAG_VTL2_VECTOR = 0xA3
TAG_VTL0 = 0x70
TAG_VTL0_NEW = 0x71
TAG_CLOBBER = 0xC1
MASK64 = (1 << 64) - 1
MASK128 = (1 << 128) - 1
_LOW48 = (1 << 48) - 1

# SMCCC status codes the model returns in x0: success, and SMCCC_RET_NOT_SUPPORTED (-1,
# Arm DEN0028 "Return codes") and other negative codes a stub must not trip over.
STATUS_SUCCESS = 0
STATUS_CODES = (STATUS_SUCCESS, MASK64, MASK64 - 1, MASK64 - 2, 1)

ENTRY_GPRS = tuple(f"x{n}" for n in range(31))
VECTORS = tuple(f"q{n}" for n in range(32))
# Entry registers whose values VTL2 must not leak (P2) stay tagged in every trial.
_ALWAYS_TAGGED = {*registers.CALLEE_SAVED_GPRS, *registers.CALLEE_SAVED_D_AS_Q, "x18"}


@dataclass(frozen=True)
class Addresses:
    """Where one trial's context and stack are."""

    context: int
    entry_sp: int
    region_size: int  # bytes observed around the context: GUARD + reserved + GUARD

    @property
    def region_start(self) -> int:
        return self.context - GUARD

    @property
    def stack_low(self) -> int:
        return STACK_WINDOW

    @property
    def stack_high(self) -> int:
        return STACK_WINDOW + WINDOW_SIZE

    @property
    def caller_record(self) -> int:
        return self.entry_sp + 0x40  # {grand-caller fp, caller lr}

    @property
    def grand_record(self) -> int:
        return self.entry_sp + 0x80


@dataclass
class InitialState:
    seed: int
    rng: random.Random
    hunting: bool  # this trial draws edge-case values
    addresses: Addresses
    entry: dict[str, int]  # every modelled register at the call
    region: bytes  # the context region as VTL0 left it (guards included)
    vtl2_values: set[int]  # 64-bit tagged values that belong to VTL2

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
    """The model's move at the trap: new register values, new context bytes, and bytes it
    writes below the SP of the trap (an interrupt taken there may use that stack)."""

    registers: tuple[tuple[str, int], ...]  # in the order of `TrialFactory.switched`
    memory: tuple[tuple[int, bytes], ...]  # (context offset, bytes)
    expected_slots: dict[str, int]  # what each shared slot must hold after the return
    scribble: bytes  # written to [sp - len, sp) at the trap


def _value(rng: random.Random, tag: int, index: int) -> int:
    return (tag << 56) | ((index & 0xFF) << 48) | rng.getrandbits(48)


def _vector(rng: random.Random, tag: int, index: int) -> int:
    high = (tag << 56) | ((index & 0xFF) << 48) | rng.getrandbits(48)
    return (high << 64) | (tag << 56) | (((0x80 | index) & 0xFF) << 48) | rng.getrandbits(48)


class _Hunter:
    """Turns about three in four values of a hunting trial into edge cases.

    Each hunting trial favours one kind of edge case, so that two values a stub compares
    (a pair of registers, a register and zero) are often equal in the same trial.
    """

    KINDS = 5

    def __init__(self, rng: random.Random, hunting: bool):
        self.rng = rng
        self.hunting = hunting
        self.favoured = rng.randrange(self.KINDS)
        self.seen: list[int] = []

    def __call__(self, value: int, size: int = 8) -> int:
        rng = self.rng
        if not self.hunting or rng.getrandbits(2) == 0:
            self.seen.append(value)
            return value
        kind = self.favoured if rng.random() < 0.6 else rng.randrange(self.KINDS)
        mask = MASK128 if size == 16 else MASK64
        if kind == 0:
            edge = 0
        elif kind == 1:
            edge = mask
        elif kind == 2:  # only the sign bit of each 64-bit half (-0.0 as a double)
            edge = (1 << 63) | ((1 << 127) if size == 16 else 0)
        elif kind == 3:
            edge = rng.randrange(1, 17)
        elif not self.seen:
            edge = 0
        else:  # a copy of a neighbour, most often the value just before: pairs compare equal
            edge = (self.seen[-1] if rng.getrandbits(1) else rng.choice(self.seen[-8:])) & mask
        self.seen.append(edge)
        return edge


def _draw_addresses(rng: random.Random, region_size: int) -> Addresses:
    context = CONTEXT_WINDOW + GUARD + 16 * rng.randrange((WINDOW_SIZE - region_size) // 16)
    entry_sp = STACK_WINDOW + STACK_ROOM + 16 * rng.randrange((WINDOW_SIZE - STACK_ROOM - CALLER_AREA) // 16)
    return Addresses(context, entry_sp, region_size)


class TrialFactory:
    """Initial states and model moves for one plan."""

    def __init__(self, plan: Plan):
        self.plan = plan
        model = plan.model
        self.region_size = 2 * GUARD + -(-model.region_size // 16) * 16
        self.randomized = [r for r in model.randomized if r in (*ENTRY_GPRS, *VECTORS, "nzcv")]
        self.switched = [s.register for s in model.register_slots] + self.randomized
        if model.status_register:
            self.switched.append(model.status_register)
        self._entry_tags = [(TAG_VTL2 << 56) | (n << 48) for n in range(29)] + [
            (TAG_VTL2_VECTOR << 56) | ((n if half == 0 else 0x80 | n) << 48) for n in range(32) for half in (0, 1)
        ]
        self._entry_unpack = struct.Struct(f"<{len(self._entry_tags)}Q").unpack
        # Registers the stub loads from the context keep tagged entry values: one left
        # unloaded is then a leak (P2) in every trial, not P1 in some.
        self._tagged = _ALWAYS_TAGGED | {s.register for s in model.register_slots}

    def initial(self, seed: int, return_address: int) -> InitialState:
        rng = random.Random(seed)
        hunting = rng.random() < 0.75
        hunt = _Hunter(rng, hunting)
        addresses = _draw_addresses(rng, self.region_size)
        randoms = self._entry_unpack(rng.randbytes(8 * len(self._entry_tags)))
        tagged = [tag | (r & _LOW48) for tag, r in zip(self._entry_tags, randoms, strict=True)]
        entry: dict[str, int] = {}
        for n in range(29):
            name = f"x{n}"
            entry[name] = tagged[n] if name in self._tagged else hunt(tagged[n])
        entry["x0"] = addresses.context  # void f(struct ctx *ctx)
        entry["x29"] = addresses.caller_record
        entry["x30"] = return_address
        entry["sp"] = addresses.entry_sp
        halves = tagged[29:]
        for n in range(32):
            name = f"q{n}"
            value = (halves[2 * n] << 64) | halves[2 * n + 1]
            entry[name] = value if name in self._tagged else hunt(value, 16)
        entry["nzcv"] = rng.getrandbits(4) << 28
        region = bytearray(rng.randbytes(self.region_size))
        for slot in self.plan.slots:
            start = GUARD + slot.offset
            value = hunt(_slot_random(rng, TAG_VTL0, slot.size, slot.index), slot.size)
            region[start : start + slot.size] = value.to_bytes(slot.size, "little")
        vtl2 = {v for v in tagged[1:29]} | set(halves)
        return InitialState(seed, rng, hunting, addresses, entry, bytes(region), vtl2)

    def switch(self, state: InitialState) -> Switch:
        """VTL0 runs: everything the ABI lets change, changes, to values that hunt."""
        rng = state.rng
        hunt = _Hunter(rng, state.hunting)
        model = self.plan.model
        values: list[tuple[str, int]] = []
        expected: dict[str, int] = {}
        for slot in model.register_slots:
            new = hunt(_slot_random(rng, TAG_VTL0_NEW, slot.size, slot.index), slot.size)
            values.append((slot.register, new))
            expected[slot.register] = new
        memory = []
        for slot in model.memory_slots:
            new = hunt(_slot_random(rng, TAG_VTL0_NEW, slot.size, slot.index), slot.size)
            memory.append((slot.offset, new.to_bytes(slot.size, "little")))
            expected[slot.register] = new
        for name in self.randomized:
            if name == "nzcv":
                values.append((name, rng.getrandbits(4) << 28))
            elif name.startswith("q"):
                values.append((name, hunt(_vector(rng, TAG_CLOBBER, registers.number(name)), 16)))
            else:
                values.append((name, hunt(_value(rng, TAG_CLOBBER, registers.number(name)))))
        if model.status_register:
            status = rng.choice(STATUS_CODES) if state.hunting else STATUS_SUCCESS
            values.append((model.status_register, status))
        return Switch(tuple(values), tuple(memory), expected, rng.randbytes(SCRIBBLE))


def _slot_random(rng: random.Random, tag: int, size: int, index: int) -> int:
    return _vector(rng, tag, index) if size == 16 else _value(rng, tag, index)
