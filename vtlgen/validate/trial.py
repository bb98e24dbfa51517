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
from dataclasses import dataclass, field

from vtlgen.isa import registers
from vtlgen.plan import Plan, Slot
from vtlgen.validate.vector_trial import VectorTrials

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
_ALWAYS_TAGGED = {*registers.CALLEE_SAVED_GPRS, *registers.CALLEE_SAVED_D_AS_Q, registers.PLATFORM_REGISTER}


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
    # 8-byte words at entry_sp + offset that a given trial supplies (a proof's counterexample);
    # drawn trials have none: their stub frame starts zeroed.
    stack: Mapping[int, int] = field(default_factory=dict)
    # SVE/SME (plan.model.vector): the vector length and streaming vector length in bytes
    # (0: no SVE state in this trial), whether the call is made in streaming mode (a
    # precondition trial), and the entry value of each piece of state as a backend loads
    # it: "z0"-"z31" (VL bytes; the low 16 equal q0-q31), "p0"-"p15" and "ffr" (VL / 8),
    # "za" (SVL x SVL, present when PSTATE.ZA is 1 at entry). Little-endian bytes, as in
    # the signal frame's sve_context and za_context (Linux sigcontext.h).
    vector_length: int = 0
    streaming_length: int = 0
    streaming: bool = False
    vector: dict[str, bytes] = field(default_factory=dict)

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
    # SVE/SME state the model sets at the trap: name -> all its new bytes (names as in
    # InitialState.vector; a "z" move also sets q's low 128 bits). Memory moves of VL-scaled
    # slots are in `memory` like any other and may be longer than 16 bytes.
    vector: tuple[tuple[str, bytes], ...] = ()
    expected_vector: dict[str, bytes] = field(default_factory=dict)  # VL-scaled slots after the return


# Per favoured kind: control byte -> 0 (keep the value), 1..5 (edge kind + 1), 6 (a kind
# drawn from the detail byte). Three in four bytes hunt; of those about 60% favour.
_ACTIONS = [bytes(0 if c & 3 == 0 else (1 + favoured if c < 156 else 6) for c in range(256)) for favoured in range(5)]


class _Hunter:
    """Turns about three in four values of a hunting trial into edge cases: 0, all-ones,
    only the sign bit (-0.0), a small number, or a copy of the value before it.

    Each hunting trial favours one kind, so that two values a stub compares (a pair of
    registers, a register and zero) are often equal in the same trial. The choices come
    from blocks of random bytes: this runs for every value of every trial.
    """

    KINDS = 5

    def __init__(self, rng: random.Random, hunting: bool):
        self.rng = rng
        self.hunting = hunting
        self.actions = _ACTIONS[rng.randrange(self.KINDS)]

    def __call__(self, value: int, size: int = 8) -> int:
        return self.many([value], size)[0]

    def many(self, values: list[int], size: int = 8) -> list[int]:
        """The same values, most replaced by edge cases in a hunting trial."""
        if not self.hunting:
            return values
        count = len(values)
        actions = self.rng.randbytes(count).translate(self.actions)
        details = self.rng.randbytes(count)
        mask = MASK128 if size == 16 else MASK64
        constants = (0, mask, (1 << 63) | ((1 << 127) if size == 16 else 0))
        last = 0  # copies come from the same group: a VTL2 value never lands in a VTL0 slot
        out = []
        for value, action, detail in zip(values, actions, details, strict=True):
            if action:
                kind = action - 1 if action < 6 else detail % 5
                if kind < 3:
                    value = constants[kind]
                elif kind == 3:
                    value = 1 + (detail >> 4)
                else:
                    value = last  # pairs compare equal
            out.append(value)
            last = value
        return out


def _draw_addresses(rng: random.Random, region_size: int) -> Addresses:
    context = CONTEXT_WINDOW + GUARD + 16 * rng.randrange((WINDOW_SIZE - region_size) // 16)
    entry_sp = STACK_WINDOW + STACK_ROOM + 16 * rng.randrange((WINDOW_SIZE - STACK_ROOM - CALLER_AREA) // 16)
    return Addresses(context, entry_sp, region_size)


def replayable(addresses: Addresses) -> bool:
    """Whether a trial can place the context and the stack here: 16-byte aligned, inside
    the windows every backend maps, with the room `_draw_addresses` leaves."""
    context, sp = addresses.context, addresses.entry_sp
    return (
        context % 16 == 0
        and sp % 16 == 0
        and CONTEXT_WINDOW + GUARD <= context <= CONTEXT_WINDOW + WINDOW_SIZE - addresses.region_size + GUARD
        and STACK_WINDOW + STACK_ROOM <= sp <= STACK_WINDOW + WINDOW_SIZE - CALLER_AREA
    )


class _SlotGroups:
    """Slots split by width, with their index bits precomputed."""

    def __init__(self, slots: tuple[Slot, ...]):
        self.narrow = [n for n, s in enumerate(slots) if s.size == 8]
        self.wide = [n for n, s in enumerate(slots) if s.size == 16]
        self.narrow_bits = [(slots[n].index & 0xFF) << 48 for n in self.narrow]
        self.wide_bits = [((slots[n].index & 0xFF) << 48, ((0x80 | slots[n].index) & 0xFF) << 48) for n in self.wide]
        self.unpack_narrow = struct.Struct(f"<{len(self.narrow)}Q").unpack
        self.unpack_wide = struct.Struct(f"<{2 * len(self.wide)}Q").unpack


class TrialFactory:
    """Initial states and model moves for one plan."""

    def __init__(self, plan: Plan, vector_length: int = 0, streaming: bool = False):
        self.plan = plan
        self.vector_length = vector_length  # bytes; 0: no SVE/SME state in these trials
        self.streaming = streaming  # call the stub with PSTATE.SM = 1 (a precondition trial)
        model = plan.model
        self.vector = VectorTrials(plan, vector_length) if vector_length else None
        reserved = max(model.region_size, self.vector.context_size if self.vector else 0)
        self.region_size = 2 * GUARD + -(-reserved // 16) * 16
        self.randomized = [r for r in model.randomized if r in (*ENTRY_GPRS, *VECTORS)]
        self._clobbers_flags = "nzcv" in model.randomized
        # Clobbered registers as pseudo-slots, so their values are drawn like the slots'.
        self._clobber_slots = tuple(
            Slot(r, "", registers.number(r), 0, 16 if r.startswith("q") else 8, "") for r in self.randomized
        )
        self.switched = [s.register for s in model.register_slots] + self.randomized
        if self._clobbers_flags:
            self.switched.append("nzcv")
        if model.status_register:
            self.switched.append(model.status_register)
        self._entry_tags = [(TAG_VTL2 << 56) | (n << 48) for n in range(29)] + [
            (TAG_VTL2_VECTOR << 56) | ((n if half == 0 else 0x80 | n) << 48) for n in range(32) for half in (0, 1)
        ]
        self._entry_unpack = struct.Struct(f"<{len(self._entry_tags)}Q").unpack
        # Registers the stub loads from the context are hunted only in caller-side trials.
        tagged = _ALWAYS_TAGGED | {s.register for s in model.register_slots}
        self._hunted_gprs = [f"x{n}" for n in range(1, 29) if f"x{n}" not in tagged]
        self._hunted_vectors = [q for q in VECTORS if q not in tagged]
        self._caller_gprs = [f"x{n}" for n in range(1, 29) if f"x{n}" not in _ALWAYS_TAGGED]
        self._caller_vectors = [q for q in VECTORS if q not in _ALWAYS_TAGGED]
        self._groups: dict[int, _SlotGroups] = {}

    def _hunted_slots(self, hunt: _Hunter, tag: int, slots: tuple[Slot, ...]) -> list[tuple[Slot, int]]:
        """Tagged random values for `slots` (the top byte `tag`, the next the slot's index,
        with bit 7 set in a vector's low half), about three in four turned into edge cases
        in a hunting trial. Narrow and wide slots are drawn in one block each."""
        groups = self._groups.get(id(slots))  # the plan's own tuples: hashing them costs more
        if groups is None:
            groups = self._groups[id(slots)] = _SlotGroups(slots)
        values = [0] * len(slots)
        rng = hunt.rng
        if groups.narrow:
            words = groups.unpack_narrow(rng.randbytes(8 * len(groups.narrow)))
            drawn = [(tag << 56) | bits | (w & _LOW48) for bits, w in zip(groups.narrow_bits, words, strict=True)]
            for n, value in zip(groups.narrow, hunt.many(drawn, 8), strict=True):
                values[n] = value
        if groups.wide:
            words = groups.unpack_wide(rng.randbytes(16 * len(groups.wide)))
            top = tag << 56
            drawn = [
                ((top | high | (words[2 * k] & _LOW48)) << 64) | top | low | (words[2 * k + 1] & _LOW48)
                for k, (high, low) in enumerate(groups.wide_bits)
            ]
            for n, value in zip(groups.wide, hunt.many(drawn, 16), strict=True):
                values[n] = value
        return list(zip(slots, values, strict=True))

    def initial(self, seed: int, return_address: int) -> InitialState:
        rng = random.Random(seed)
        hunting = rng.random() < 0.75
        # A hunting trial hunts either the caller's registers or VTL0's context, never the
        # registers the stub loads from the context on both sides: a register left unloaded
        # then still shows the caller's own value (P2), never one equal to VTL0's by chance.
        caller_side = hunting and bool(rng.getrandbits(1))
        hunt = _Hunter(rng, hunting)
        addresses = _draw_addresses(rng, self.region_size)
        randoms = self._entry_unpack(rng.randbytes(8 * len(self._entry_tags)))
        tagged = [tag | (r & _LOW48) for tag, r in zip(self._entry_tags, randoms, strict=True)]
        halves = tagged[29:]
        entry = dict(zip(ENTRY_GPRS[:29], tagged[:29], strict=True))
        for n in range(32):
            entry[f"q{n}"] = (halves[2 * n] << 64) | halves[2 * n + 1]
        gprs, vectors = (
            (self._caller_gprs, self._caller_vectors) if caller_side else (self._hunted_gprs, self._hunted_vectors)
        )
        for names, size in ((gprs, 8), (vectors, 16)):
            entry.update(zip(names, hunt.many([entry[n] for n in names], size), strict=True))
        entry["x0"] = addresses.context  # void f(struct ctx *ctx)
        entry["x29"] = addresses.caller_record
        entry["x30"] = return_address
        entry["sp"] = addresses.entry_sp
        entry["nzcv"] = rng.getrandbits(4) << 28
        region = bytearray(rng.randbytes(self.region_size))
        context_hunt = _Hunter(rng, hunting and not caller_side)
        for slot, value in self._hunted_slots(context_hunt, TAG_VTL0, self.plan.slots):
            start = GUARD + slot.offset
            region[start : start + slot.size] = value.to_bytes(slot.size, "little")
        vtl2 = set(tagged[1:29]) | set(halves)
        state = InitialState(seed, rng, hunting, addresses, entry, bytes(region), vtl2)
        if self.vector is not None:
            vector, words = self.vector.entry(rng, entry)
            self.vector.fill_context(rng, region, GUARD, vector["ffr"])
            state.region, state.vector = bytes(region), vector
            state.vtl2_values |= words
            state.vector_length, state.streaming_length = self.vector.vl, self.vector.svl
            state.streaming = self.streaming
        return state

    def switch(self, state: InitialState) -> Switch:
        """VTL0 runs: everything the ABI lets change, changes, to values that hunt."""
        rng = state.rng
        hunt = _Hunter(rng, state.hunting)
        model = self.plan.model
        values: list[tuple[str, int]] = []
        expected: dict[str, int] = {}
        for slot, new in self._hunted_slots(hunt, TAG_VTL0_NEW, model.register_slots):
            values.append((slot.register, new))
            expected[slot.register] = new
        memory = []
        for slot, new in self._hunted_slots(hunt, TAG_VTL0_NEW, model.memory_slots):
            memory.append((slot.offset, new.to_bytes(slot.size, "little")))
            expected[slot.register] = new
        clobbered = self._hunted_slots(hunt, TAG_CLOBBER, self._clobber_slots)
        values += [(slot.register, value) for slot, value in clobbered]
        if self._clobbers_flags:
            values.append(("nzcv", rng.getrandbits(4) << 28))
        if model.status_register:
            status = rng.choice(STATUS_CODES) if state.hunting else STATUS_SUCCESS
            values.append((model.status_register, status))
        scribble = rng.randbytes(SCRIBBLE)
        if self.vector is None:
            return Switch(tuple(values), tuple(memory), expected, scribble)
        used = self.vector.used_ffr_lengths(state.vector.get("ffr", b""), state.region, GUARD)
        move = self.vector.move(rng, used)
        return Switch(tuple(values), (*memory, *move.memory), expected, scribble, move.registers, move.expected)


class GivenTrial(TrialFactory):
    """One trial whose inputs are given, not drawn (a proof's counterexample replayed):
    the same InitialState and Switch shapes, so a backend runs it as any other trial."""

    def __init__(self, plan: Plan, state: InitialState, switch: Switch):
        super().__init__(plan)
        self.given_state = state
        self.given_switch = switch

    def initial(self, seed: int, return_address: int) -> InitialState:
        return self.given_state

    def switch(self, state: InitialState) -> Switch:
        return self.given_switch
