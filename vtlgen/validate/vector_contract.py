"""P1, P2, P4 and P5 for SVE/SME state, from plain observations at one vector length.

The same properties as for the GPRs and Q (`vtlgen.validate.contract`), over the state of
`plan.model.vector`:
- P1/P2 at the trap: shared state moved in the registers holds VTL0's value from the
  extended context, all of its bytes; a VTL2 value there is a leak. A Z register whose Q
  VTL0 receives in the register bank is visible to VTL0 whole, so its bits above 127 must
  hold no VTL2 word either (the TLFS lets the switch leave them as they are).
- P1 at the trap for memory transport: the stub has not changed VTL0's slots before it.
- P4 after the return: the extended context's shared slots hold what VTL0 left; P8 any
  other byte of it changed (both through `contract.at_return`, which sees the whole region).
- P5 after the return: what the stub must return as it found it (ZA and PSTATE.ZA when the
  spec makes them the caller's: AAPCS64's SME rules for a private-ZA function).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

from vtlgen import properties as say
from vtlgen.plan import Plan, VectorSlot
from vtlgen.validate.backends.base import Trap
from vtlgen.validate.finding import Finding
from vtlgen.validate.trial import GUARD, InitialState

SVCR_ZA = 2  # bit 1 of the "svcr" a backend reports: PSTATE.ZA (Arm ARM, "SVCR")


def shown(value: bytes) -> str:
    """Bytes as the number they hold (little-endian), shortened in the middle when long."""
    text = f"0x{int.from_bytes(value, 'little'):x}"
    return text if len(text) <= 42 else f"{text[:20]}...{text[-20:]} ({len(value)} bytes)"


def _vtl2_words(value: bytes, state: InitialState) -> bool:
    usable = len(value) - len(value) % 8
    return any(word in state.vtl2_values for word in struct.unpack(f"<{usable // 8}Q", value[:usable]))


def slot_bytes(slot: VectorSlot, state: InitialState, region: bytes) -> bytes:
    start = GUARD + slot.offset(state.vector_length, state.streaming_length)
    return region[start : start + slot.size(state.vector_length, state.streaming_length)]


def where(slot: VectorSlot, state: InitialState) -> str:
    return f"ctx->{slot.element.name}[{slot.index}] (VL {state.vector_length})"


def entry(plan: Plan, state: InitialState, trap: Trap) -> list[Finding]:
    """P1 and P2 for SVE/SME state at the first trap."""
    model = plan.model.vector
    if model is None or not state.vector_length or not trap.vector:
        return []
    out = []
    for slot in model.register_slots:
        want, got = slot_bytes(slot, state, state.region), trap.vector.get(slot.register)
        if got is None or got == want:
            continue
        if got == state.vector.get(slot.register) or _vtl2_words(got, state):
            message = f"VTL0 would see VTL2's {slot.register} at the trap (VL {state.vector_length})"
            out.append(Finding("P2", message, slot.register, shown(want), shown(got)))
        else:
            message = f"{slot.register} does not hold VTL0's value from {where(slot, state)} at the trap"
            out.append(Finding("P1", message, slot.register, shown(want), shown(got)))
    for name in model.visible_upper:
        got = trap.vector.get(name)
        if got is not None and _vtl2_words(got[16:], state):
            message = f"VTL0 would see VTL2's bits above 127 of {name} at the trap (VL {state.vector_length})"
            out.append(Finding("P2", message, name, "no VTL2 value above bit 127", shown(got)))
    if trap.region != state.region:
        for slot in model.memory_slots:
            want, got = slot_bytes(slot, state, state.region), slot_bytes(slot, state, trap.region)
            if got != want:
                prop = "P2" if _vtl2_words(got, state) else "P1"
                place = where(slot, state)
                message = say.changed_before_trap(place)
                offset = slot.offset(state.vector_length, state.streaming_length)
                out.append(Finding(prop, message, place, shown(want), shown(got), blame_context=offset))
    return out


def caller(plan: Plan, state: InitialState, vector: Mapping[str, bytes], svcr: int | None) -> list[Finding]:
    """P5 for SVE/SME state the stub must return as it found it."""
    model = plan.model.vector
    if model is None or not state.vector_length or (not vector and svcr is None):
        return []
    out = []
    if "za" in model.stub_keeps and "za" in state.vector:
        if svcr is not None and not svcr & SVCR_ZA:
            out.append(Finding("P5", "PSTATE.ZA is not as at entry: ZA is the caller's", "svcr.za", "1", "0"))
        elif vector.get("za") not in (None, state.vector["za"]):
            message = f"ZA is not as at entry (VL {state.vector_length}): ZA is the caller's"
            out.append(Finding("P5", message, "za", shown(state.vector["za"]), shown(vector["za"])))
    return out


def expected_region(plan: Plan, state: InitialState, region: bytearray, expected: Mapping[str, bytes]) -> bytes:
    """`region` with the extended context's shared slots as they must be after the return."""
    model = plan.model.vector
    if model is not None and state.vector_length:
        for slot in model.slots:
            if slot.register in expected:
                start = GUARD + slot.offset(state.vector_length, state.streaming_length)
                region[start : start + len(expected[slot.register])] = expected[slot.register]
    return bytes(region)


def exit_slots(
    plan: Plan, state: InitialState, region: bytes, expected: Mapping[str, bytes], allowed: bytearray
) -> list[Finding]:
    """P4 for the extended context's shared slots after the return; marks their bytes in
    `allowed` (region offsets) so that P8 judges only the rest."""
    out = []
    for start, size, slot in slot_ranges(plan, state.vector_length, state.streaming_length):
        allowed[GUARD + start : GUARD + start + size] = b"\1" * size
        got = region[GUARD + start : GUARD + start + size]
        want = expected.get(slot.register, slot_bytes(slot, state, state.region))
        if got != want:
            place = where(slot, state)
            message = say.slot_not_vtl0s(place, slot.register)
            out.append(Finding("P4", message, place, shown(want), shown(got), blame_context=start))
    return out


def slot_ranges(plan: Plan, vector_length: int, streaming_length: int) -> list[tuple[int, int, VectorSlot]]:
    """(offset, size, slot) of every shared slot of the extended context at this VL."""
    model = plan.model.vector
    if model is None or not vector_length:
        return []
    return [
        (s.offset(vector_length, streaming_length), s.size(vector_length, streaming_length), s) for s in model.slots
    ]
