"""The register-preservation contract, checked on observed values.

Backends observe (unicorn per instruction, qemu-user at the trap and at the end) and
hand plain values here; the verdicts, and so the meaning of each property, are shared.
A Finding names what to blame: a register (the backend finds its last writer) or a
context offset (the last store there), or neither (the trap).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from vtlgen import registers
from vtlgen.plan import Plan
from vtlgen.trial import ENTRY_SP, GUARD, MASK64, REGION, STACK, STACK_SIZE, InitialState


@dataclass(frozen=True)
class Finding:
    property: str
    message: str
    location: str  # register or memory location; "" when neither applies
    expected: str
    actual: str
    blame_register: str | None = None
    blame_context: int | None = None


def fmt(value: int | None) -> str:
    return "-" if value is None else f"0x{value:x}"


class Vtl2Values:
    """Recognises VTL2 values: its registers at entry, its code, stack and context addresses."""

    def __init__(self, state: InitialState, ranges: Iterable[tuple[int, int]], singles: Iterable[int]):
        self.values = state.vtl2_values | set(singles)
        self.ranges = [(STACK, STACK + STACK_SIZE), *ranges]

    def __call__(self, value: int, size: int = 8) -> bool:
        halves = (value & MASK64, value >> 64) if size == 16 else (value,)
        return any(self._is_vtl2(half) for half in halves)

    def _is_vtl2(self, half: int) -> bool:
        return half in self.values or any(low <= half < high for low, high in self.ranges)


def entry(
    plan: Plan,
    state: InitialState,
    at_trap: Mapping[str, int],
    region_at_trap: bytes,
    vtl2: Callable[[int, int], bool],
) -> list[Finding]:
    """P1 (VTL0's values and the SMCCC arguments in place) and P2 (no VTL2 value visible)."""
    out = []
    for slot in plan.model.register_slots:
        want = state.slot_value(slot.offset, slot.size)
        got = at_trap[slot.register]
        if got == want:
            continue
        if vtl2(got, slot.size):
            message = f"VTL0 would see a VTL2 value in {slot.register} at the trap"
            out.append(Finding("P2", message, slot.register, fmt(want), fmt(got), blame_register=slot.register))
        else:
            message = f"{slot.register} does not hold VTL0's value from ctx->{slot.field}[{slot.index}] at the trap"
            out.append(Finding("P1", message, slot.register, fmt(want), fmt(got), blame_register=slot.register))
    for slot in plan.model.memory_slots:
        want = state.slot_value(slot.offset, slot.size)
        start = GUARD + slot.offset
        got = int.from_bytes(region_at_trap[start : start + slot.size], "little")
        if got != want:
            where = f"ctx->{slot.field}[{slot.index}]"
            prop = "P2" if vtl2(got, slot.size) else "P1"
            message = f"{where} changed before the trap"
            out.append(Finding(prop, message, where, fmt(want), fmt(got), blame_context=slot.offset))
    for argument in plan.model.arguments:
        got = at_trap[argument.register]
        want = state.entry["x0"] if argument.value is None else argument.value
        if argument.width == 32:
            got &= 0xFFFF_FFFF
        if got != want:
            message = f"{argument.register} does not hold {argument.name} at the trap"
            out.append(Finding("P1", message, argument.register, fmt(want), fmt(got), blame_register=argument.register))
    return out


def private_registers(plan: Plan) -> list[str]:
    """GPRs the stub must never write (P3); sp and x29 have rules of their own."""
    return [
        name
        for name, cls in plan.register_classes
        if cls == "private" and name.startswith("x") and name != registers.FRAME_POINTER
    ]


def frame(
    plan: Plan,
    state: InitialState,
    values: Mapping[str, int],
    read_record: Callable[[int], bytes],
) -> list[Finding]:
    """P3 (private registers untouched, x29 only a frame pointer) and P6 (x29 reaches the caller)."""
    out = []
    for name in private_registers(plan):
        if values[name] != state.entry[name]:
            out.append(
                Finding("P3", f"writes the private register {name}", name, fmt(state.entry[name]), fmt(values[name]))
            )
    fp, sp = values["x29"], values["sp"]
    if fp == state.entry["x29"]:
        return out
    if not STACK <= fp < ENTRY_SP:
        message = "writes x29 with a value that is not a frame pointer"
        return [*out, Finding("P3", message, "x29", "a frame record in the stub's frame", fmt(fp))]
    record = read_record(fp)
    saved = (int.from_bytes(record[:8], "little"), int.from_bytes(record[8:], "little"))
    if fp % 16 or fp < sp or saved != (state.entry["x29"], state.entry["x30"]):
        message = "x29 does not point at a frame record {caller x29, return address} at or above SP"
        want = f"[{fmt(fp)}] = {{{fmt(state.entry['x29'])}, {fmt(state.entry['x30'])}}}"
        out.append(Finding("P6", message, "x29", want, f"{{{fmt(saved[0])}, {fmt(saved[1])}}} (sp {fmt(sp)})"))
    return out


CALLER_SAVED_VIEW = (*registers.CALLEE_SAVED_GPRS, registers.FRAME_POINTER, "sp", *registers.CALLEE_SAVED_D_AS_Q)


def exit(
    plan: Plan,
    state: InitialState,
    after: Mapping[str, int],
    region_after: bytes,
    expected_slots: Mapping[str, int],
    already_flagged: set[int],
) -> list[Finding]:
    """P5 (the AAPCS64 caller contract), P4 (VTL0's exit state) and P8 (no other context byte changed)."""
    out = []
    for name in CALLER_SAVED_VIEW:
        if name.startswith("q"):  # only the low 64 bits of v8-v15 are callee-saved (aapcs64)
            got, want, shown = after[name] & MASK64, state.entry[name] & MASK64, f"d{registers.number(name)}"
        else:
            got, want, shown = after[name], state.entry[name], name
        if got != want:
            out.append(Finding("P5", f"{shown} is not as at entry", shown, fmt(want), fmt(got), blame_register=name))
    if state.expected_region(plan, expected_slots) == region_after:
        return out  # the common case: every slot right, nothing else touched
    expected = bytearray(state.region)
    for slot in plan.slots:
        start = GUARD + slot.offset
        want = expected_slots.get(slot.register, state.slot_value(slot.offset, slot.size))
        got = int.from_bytes(region_after[start : start + slot.size], "little")
        expected[start : start + slot.size] = region_after[start : start + slot.size]
        if got != want:
            where = f"ctx->{slot.field}[{slot.index}]"
            message = f"{where} does not hold VTL0's {slot.register}"
            out.append(Finding("P4", message, where, fmt(want), fmt(got), blame_context=slot.offset))
    if bytes(expected) != region_after:
        for index in range(REGION):
            relative = index - GUARD
            if region_after[index] != expected[index] and relative not in already_flagged:
                where = f"ctx{relative:+#x}"
                message = f"changes {where}, outside the shared slots"
                before, now = f"0x{state.region[index]:02x}", f"0x{region_after[index]:02x}"
                out.append(Finding("P8", message, where, before, now, blame_context=relative))
                break
    return out
