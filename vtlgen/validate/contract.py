"""The trials' evaluator of P1-P10 (`vtlgen.properties`): every verdict from plain observations.

A backend observes a trial (`vtlgen.validate.backends.base.TrialObservation`) and
`TrialJudge.trial` decides; the proof's evaluator of the same properties is
`vtlgen.prove.obligations`, and both word a violation with `vtlgen.properties`. Facts about
the ABI come from `plan.model`; facts about an instruction (which registers it reads and
writes) from `vtlgen.isa.disassembler`. Each fault is reported once, at the instruction
that caused it: register and frame faults when the value changes, memory faults at the
access, entry and exit faults at the last instruction that wrote what they name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from vtlgen import properties as say
from vtlgen.isa import registers, system_instructions
from vtlgen.plan import Plan
from vtlgen.validate import vector_contract
from vtlgen.validate.backends.base import Access, FrameStep, Observable, TrialObservation
from vtlgen.validate.finding import Finding, fmt
from vtlgen.validate.results import StubSource, Violation
from vtlgen.validate.trial import GUARD, MASK64, InitialState

# Its home is vtlgen.isa.registers; the name stays here until unicorn.py and obligations.py
# import it from there.
CALLER_SAVED_VIEW = registers.CALLER_SAVED_VIEW
_CONDITIONAL = ("cbz", "cbnz", "tbz", "tbnz", "b.")
OUTSIDE = "memory outside the context and the frame"  # one location, whatever the address


class Vtl2Values:
    """Recognises VTL2 values: its tagged registers at entry, its code, stack and context addresses."""

    def __init__(self, state: InitialState, ranges: Iterable[tuple[int, int]], singles: Iterable[int]):
        self.values = state.vtl2_values | set(singles)
        self.ranges = [(state.addresses.stack_low, state.addresses.stack_high), *ranges]

    def __call__(self, value: int, size: int = 8) -> bool:
        halves = (value & MASK64, value >> 64) if size == 16 else (value,)
        return any(self._is_vtl2(half) for half in halves)

    def _is_vtl2(self, half: int) -> bool:
        return half in self.values or any(low <= half < high for low, high in self.ranges)


def entry(
    plan: Plan, state: InitialState, at_trap: Mapping[str, int], region: bytes, vtl2: Vtl2Values
) -> list[Finding]:
    """P1 (VTL0's values and the SMCCC arguments in place) and P2 (no VTL2 value visible)."""
    out = []
    for slot in plan.model.register_slots:
        want = state.slot_value(slot.offset, slot.size)
        got = at_trap[slot.register]
        if got == want:
            continue
        # Still the caller's value (hunting trials never make a context value equal to it),
        # or any tagged VTL2 value: VTL0 would see it.
        if got == state.entry[slot.register] or vtl2(got, slot.size):
            message = say.vtl2_value_visible(slot.register)
            out.append(Finding("P2", message, slot.register, fmt(want), fmt(got), blame_register=slot.register))
        else:
            message = say.not_vtl0_value(slot.register, slot.field, slot.index)
            out.append(Finding("P1", message, slot.register, fmt(want), fmt(got), blame_register=slot.register))
    memory_slots = plan.model.memory_slots if region != state.region else ()  # untouched: the common case
    for slot in memory_slots:
        want = state.slot_value(slot.offset, slot.size)
        start = GUARD + slot.offset
        got = int.from_bytes(region[start : start + slot.size], "little")
        if got != want:
            where = f"ctx->{slot.field}[{slot.index}]"
            prop = "P2" if vtl2(got, slot.size) else "P1"
            out.append(
                Finding(prop, say.changed_before_trap(where), where, fmt(want), fmt(got), blame_context=slot.offset)
            )
    for argument in plan.model.arguments:
        got = at_trap[argument.register]
        if argument.from_caller:  # a C argument passed through: the caller's value, untouched
            want = state.entry[argument.register]
        else:
            want = state.addresses.context if argument.value is None else argument.value
        if got != want:
            # Junk above a 32-bit argument, e.g. movk into a register that still holds a
            # pointer, is not the value the ABI passes (say.argument_missing).
            message = say.argument_missing(argument.register, argument.name, argument.width)
            out.append(Finding("P1", message, argument.register, fmt(want), fmt(got), blame_register=argument.register))
    return out


def frame_pointer_fault(state: InitialState, fp: int, sp: int, record: bytes) -> str | None:
    """P6: why x29 does not let the unwinder reach the caller, or None when it does.

    x29 is the caller's frame pointer, or the address of a 16-byte record {caller x29,
    entry x30} in the stub's frame, at or above SP, 8-byte aligned: Linux's unwinder
    (arch/arm64/kernel/stacktrace.c) rejects `fp & 7` and records off the stack.
    """
    if fp == state.entry["x29"]:
        return None
    if fp % 8:
        return say.FP_MISALIGNED
    if not sp <= fp <= state.addresses.entry_sp - 16:
        return say.FP_OUTSIDE_FRAME
    saved = (int.from_bytes(record[:8], "little"), int.from_bytes(record[8:16], "little")) if record else None
    if saved != (state.entry["x29"], state.entry["x30"]):
        return say.FP_RECORD_WRONG
    return None


class FrameTracker:
    """P3 and P6 along a trial: each fault is reported at the instruction that made it,
    not again at every later instruction while it lasts."""

    def __init__(self, plan: Plan, state: InitialState):
        self.plan, self.state = plan, state
        self.values = dict(state.entry)
        self.fault: str | None = None
        self.x30_bad = False

    def step(self, step: FrameStep) -> list[Finding]:
        state, now, before = self.state, step.registers, self.values
        out: list[Finding] = []
        if step.after_switch:
            self.values.update(now)  # what the model changed at the trap is no instruction's doing
            return out
        for name in self.plan.model.kept:
            if name in now and now[name] != before[name] and now[name] != state.entry[name]:
                message = say.writes_kept(name)
                out.append(Finding("P3", message, name, fmt(state.entry[name]), fmt(now[name]), offset=step.offset))
        fp, lr, sp = now["x29"], now["x30"], now["sp"]
        fault = frame_pointer_fault(state, fp, sp, step.record)
        if fault and (fault != self.fault or fp != before["x29"]):
            record = step.record.hex() if step.record else say.UNREADABLE_RECORD
            want = f"{fmt(state.entry['x29'])} or a record {{{fmt(state.entry['x29'])}, {fmt(state.entry['x30'])}}}"
            actual = f"x29 {fmt(fp)} (sp {fmt(sp)}, record {record})"
            out.append(Finding("P6", fault, "x29", want, actual, offset=step.offset))
        # x30 is private and the unwinder reads the return address from the record, so x30
        # is scratch exactly while the live record at x29 holds the entry x30.
        live = fp != state.entry["x29"] and fault is None
        x30_bad = lr != state.entry["x30"] and not live
        if x30_bad and (not self.x30_bad or lr != before["x30"]):
            message = say.X30_WITHOUT_RECORD
            out.append(Finding("P3", message, "x30", fmt(state.entry["x30"]), fmt(lr), offset=step.offset))
        self.values.update(now)
        self.fault, self.x30_bad = fault, x30_bad
        return out


def at_return(
    plan: Plan,
    state: InitialState,
    after: Mapping[str, int],
    region: bytes,
    expected_slots: Mapping[str, int],
    flagged: set[int],
    expected_vector: Mapping[str, bytes] | None = None,
) -> list[Finding]:
    """P5 (the AAPCS64 caller contract), P4 (VTL0's exit state, the extended context's
    VL-scaled slots included) and P8 (no other context byte changed)."""
    out = []
    for name in CALLER_SAVED_VIEW:
        if name.startswith("q"):  # only the low 64 bits of v8-v15 are callee-saved (AAPCS64)
            got, want, shown = after[name] & MASK64, state.entry[name] & MASK64, f"d{registers.number(name)}"
        else:
            got, want, shown = after[name], state.entry[name], name
        if got != want:
            out.append(Finding("P5", say.not_as_at_entry(shown), shown, fmt(want), fmt(got), blame_register=name))
    expected = state.expected_region(plan, expected_slots)
    if expected_vector:
        expected = vector_contract.expected_region(plan, state, bytearray(expected), expected_vector)
    if expected == region:
        return out  # the common case: every slot right, nothing else touched
    allowed = bytearray(len(region))
    out += vector_contract.exit_slots(plan, state, region, expected_vector or {}, allowed)
    for slot in plan.slots:
        start = GUARD + slot.offset
        allowed[start : start + slot.size] = b"\1" * slot.size
        want = expected_slots.get(slot.register, state.slot_value(slot.offset, slot.size))
        got = int.from_bytes(region[start : start + slot.size], "little")
        if got != want:
            where = f"ctx->{slot.field}[{slot.index}]"
            message = say.slot_not_vtl0s(where, slot.register)
            out.append(Finding("P4", message, where, fmt(want), fmt(got), blame_context=slot.offset))
    for index, (now, was) in enumerate(zip(region, state.region, strict=True)):
        relative = index - GUARD
        if now != was and not allowed[index] and relative not in flagged:
            where = f"ctx{relative:+#x}"
            message = f"changes {where}, outside the shared slots"
            out.append(Finding("P8", message, where, f"0x{was:02x}", f"0x{now:02x}", blame_context=relative))
            break
    return out


class TrialJudge:
    """Every verdict for one plan and one stub, trial by trial (the proof's counterpart:
    `vtlgen.prove.obligations.ProofObligations`)."""

    def __init__(self, plan: Plan, source: StubSource, observes: frozenset[Observable]):
        self.plan = plan
        self.source = source
        self.observes = observes
        model = plan.model
        writable = bytearray(model.region_size)
        for byte_range in model.writable:
            writable[byte_range.start : byte_range.start + byte_range.size] = b"\1" * byte_range.size
        self.writable = bytes(writable)  # at vector length 0; `_at` keeps one map per length
        self.readable_size = model.readable_size
        self._by_length: dict[int, tuple[bytes, int]] = {0: (self.writable, self.readable_size)}
        self.decoded = source.decoded
        self.poisoned = frozenset(model.poisoned)
        code = source.assembly.code
        words = [int.from_bytes(code[at : at + 4], "little") for at in range(0, len(code) - 3, 4)]
        # The allow-list of system instructions (vtlgen/isa/system_instructions.py): the rest
        # is an effect outside the ABI (P9), never a quiet no-op of the emulator.
        self.refused = {4 * i: why for i, word in enumerate(words) if (why := system_instructions.refusal(word))}
        self.zeroes_block = {4 * i for i, word in enumerate(words) if system_instructions.is_dc_zva(word)}

    # --- memory --------------------------------------------------------------------------

    def access(self, state: InitialState, a: Access) -> Finding | None:
        """P7 for the stack, P8 for everything else, at any distance.

        Locations are relative (to SP, to the context), so that the same fault in trials with
        different addresses is one report; the absolute address is in the message."""
        addresses = state.addresses
        if addresses.stack_low <= a.address < addresses.stack_high:
            if a.sp_based and a.sp % 16:
                return Finding("P7", say.MISALIGNED_SP, "sp", say.SP_ALIGNMENT, fmt(a.sp), a.offset)
            if a.address < a.low:
                where = f"[sp{a.address - a.low:+#x}]"
                return Finding("P7", say.below_sp(a.write), where, f">= sp {fmt(a.low)}", fmt(a.address), a.offset)
            if a.address + a.size > addresses.entry_sp:
                where = f"[caller sp{a.address - addresses.entry_sp:+#x}]"
                message = say.above_caller_sp(a.write)
                return Finding("P7", message, where, f"< {fmt(addresses.entry_sp)}", fmt(a.address), a.offset)
            return None
        relative = a.address - addresses.context
        near = -GUARD <= relative < len(self.writable) + GUARD
        if a.write:
            inside = relative >= 0 and relative + a.size <= len(self.writable)
            if inside and all(self.writable[relative : relative + a.size]):
                return None
            if near:
                where = f"ctx{relative:+#x}"
                return Finding("P8", say.outside_shared_slots(where), where, say.A_SHARED_SLOT,
                               say.access_of(a.size, True), a.offset)  # fmt: skip
            message = f"writes {fmt(a.address)} (ctx{relative:+#x}), outside the context and the frame"
            return Finding("P8", message, OUTSIDE, "the context or the frame", say.access_of(a.size, True), a.offset)
        if relative >= 0 and relative + a.size <= self.readable_size:
            return None
        size = self.readable_size
        where = f"ctx{relative:+#x}" if near else OUTSIDE
        message = f"reads {fmt(a.address)} (ctx{relative:+#x}), outside the context"
        return Finding("P8", message, where, say.readable_context(size), say.access_of(a.size, False), a.offset)

    def _at(self, state: InitialState) -> None:
        """Writable bytes and the readable size at the trial's vector length (P8): the
        extended context's shared slots are writable, all of it readable."""
        length = state.vector_length
        if length not in self._by_length:
            size = self.plan.context.size_at(length, state.streaming_length)
            writable = bytearray(max(len(self._by_length[0][0]), size))
            writable[: len(self._by_length[0][0])] = self._by_length[0][0]
            for start, count, _ in vector_contract.slot_ranges(self.plan, length, state.streaming_length):
                writable[start : start + count] = b"\1" * count
            self._by_length[length] = (bytes(writable), max(self.plan.model.readable_size, size))
        self.writable, self.readable_size = self._by_length[length]

    # --- one trial -----------------------------------------------------------------------

    def trial(self, obs: TrialObservation) -> list[Violation]:
        state, plan, model = obs.state, self.plan, self.plan.model
        self._at(state)
        findings: list[Finding] = []
        tracker = FrameTracker(plan, state)
        for step in obs.steps:
            findings += tracker.step(step)
        flagged: set[int] = set()
        addresses = state.addresses
        stack_low, stack_high, entry_sp = addresses.stack_low, addresses.stack_high, addresses.entry_sp
        context, writable, readable_size = addresses.context, self.writable, self.readable_size
        for a in obs.accesses:
            if a.offset in self.zeroes_block:  # the architecture's largest block, not unicorn's 64 bytes
                block = system_instructions.DC_ZVA_BLOCK
                a = a._replace(address=a.address & -block, size=block)
            address = a.address
            # The common cases first, decided without building anything: a well-formed
            # access to the stub's frame, a store to a shared slot, a load from the context.
            if stack_low <= address < stack_high:
                if a.low <= address and address + a.size <= entry_sp and not (a.sp_based and a.sp & 15):
                    continue
            elif a.write:
                relative = address - context
                if 0 <= relative <= len(writable) - a.size and writable.find(0, relative, relative + a.size) < 0:
                    continue
            elif 0 <= address - context <= readable_size - a.size:
                continue  # as `access` decides a read inside the readable context
            elif obs.code_range[0] <= address < obs.code_range[1]:
                continue  # the stub's own constants (a literal pool): read-only VTL2 code
            finding = self.access(state, a)
            if finding is not None:
                findings.append(finding)
                if finding.property == "P8" and a.write:
                    start = a.address - state.addresses.context
                    flagged.update(range(start, start + a.size))
        conduits = [t for t in obs.traps if t.kind == "conduit"]
        for trap in obs.traps:
            if trap.kind != "conduit":
                message = "an exception that is not the conduit" + (f" ({trap.cause})" if trap.cause else "")
                findings.append(
                    Finding("P9", message, "", f"`{model.conduit_text}`", f"0x{trap.word:08x}", trap.offset)
                )
            elif trap.word != model.conduit_encoding:
                message = say.wrong_conduit(model.conduit_text)
                findings.append(
                    Finding("P9", message, "", f"0x{model.conduit_encoding:08x}", f"0x{trap.word:08x}", trap.offset)
                )
        if len(conduits) > 1:
            findings.append(Finding("P9", say.SECOND_TRAP, "", say.EXACTLY_ONE, str(len(conduits)), conduits[1].offset))
        first = conduits[0] if conduits else None
        if first is not None:
            vtl2 = Vtl2Values(state, [obs.code_range], [obs.return_address, state.addresses.context])
            for finding in entry(plan, state, first.registers, first.region, vtl2):
                findings.append(self._blame(finding, obs, first.trace_index, first.offset))
            for finding in vector_contract.entry(plan, state, first):
                findings.append(self._blame(finding, obs, first.trace_index, first.offset))
        end = obs.end
        if end.kind == "left":
            findings.append(Finding("P5", say.LEAVES_STUB, "pc", fmt(obs.return_address), fmt(end.pc), end.offset))
        elif end.kind == "fault":
            message = f"accesses {fmt(end.address)}, outside the context and the frame"
            findings.append(Finding("P8", message, OUTSIDE, "the context or the frame", "fault", end.offset))
        elif end.kind == "alignment":  # the architecture's own SP alignment check (SCTLR_ELx.SA) fired
            sp = end.registers.get("sp", 0)
            findings.append(Finding("P7", say.MISALIGNED_SP, "sp", say.SP_ALIGNMENT, fmt(sp), end.offset))
        elif end.kind == "limit":
            findings.append(Finding("P9", say.NO_END, "", say.BOUNDED_RUN, say.UNBOUNDED, end.offset))
        elif end.kind == "returned":
            if first is None:
                # Blame the last conditional branch that ran: the usual way to miss the trap.
                branches = [at for at in obs.trace if self.decoded[at >> 2].text.startswith(_CONDITIONAL)]
                at = branches[-1] if branches else end.offset
                findings.append(Finding("P9", say.NEVER_TRAPS, "", say.ONE_TRAP, say.NO_TRAP, at))
            else:
                expected_vector = obs.switch.expected_vector
                after = at_return(
                    plan, state, end.registers, end.region, obs.switch.expected_slots, flagged, expected_vector
                )
                after += vector_contract.caller(plan, state, end.vector, end.registers.get("svcr"))
                for finding in after:
                    findings.append(self._blame(finding, obs, len(obs.trace), self._last_trap_offset(conduits)))
                if end.window_change is not None:
                    where = f"ctx{end.window_change:+#x}"
                    message = f"changes {where}, outside the context"
                    findings.append(Finding("P8", message, where, "unchanged", "changed", None))
        if first is not None and first.trace_index >= 0:
            findings += self._poison(obs.trace[first.trace_index + 1 :])
        findings += self._unmodelled(obs)
        return self._violations(findings, obs.seed)

    def _unmodelled(self, obs: TrialObservation) -> list[Finding]:
        """P9 for each system instruction off the allow-list that the trial ran (every one in
        the stub when the backend keeps no trace)."""
        if not self.refused:
            return []
        ran = set(obs.trace) if Observable.TRACE in self.observes else set(self.refused)
        return [
            Finding("P9", f"runs {why}", "", "only the system instructions the ABI allows", "executed", at)
            for at, why in sorted(self.refused.items())
            if at in ran
        ]

    def _last_trap_offset(self, conduits: list) -> int | None:  # type: ignore[type-arg]
        return conduits[-1].offset if conduits else None

    def _poison(self, trace: list[int]) -> list[Finding]:
        """P10: after an SMCCC call, reading a register the call may change is relying on it."""
        poisoned = set(self.poisoned)
        out = []
        for offset in trace:
            if not poisoned:
                break
            decoded = self.decoded[offset >> 2]
            if not decoded.exact:
                message = f"`{decoded.text}` has effects vtlgen does not know; it may read what the call changed"
                out.append(Finding("P10", message, "", "known effects", "unknown", offset))
                break
            for name in sorted(decoded.reads & poisoned):
                out.append(Finding("P10", say.reads_clobbered(name), name, say.UNREAD, say.READ, offset))
            poisoned -= decoded.writes
        return out

    def _blame(self, finding: Finding, obs: TrialObservation, upto: int, default: int | None) -> Finding:
        """Point a finding at the last instruction (before trace index `upto`) that wrote what it names."""
        offset = default
        if finding.blame_register is not None and obs.trace:
            for at in reversed(obs.trace[:upto]):
                if finding.blame_register in self.decoded[at >> 2].writes:
                    offset = at
                    break
        elif finding.blame_context is not None and obs.accesses:
            target = obs.state.addresses.context + finding.blame_context
            for a in reversed(obs.accesses):
                if a.write and a.address <= target < a.address + a.size:
                    offset = a.offset
                    break
        return Finding(finding.property, finding.message, finding.location, finding.expected, finding.actual, offset)

    def _violations(self, findings: list[Finding], seed: int) -> list[Violation]:
        seen: dict[tuple[str, int | None, str], Violation] = {}
        for f in findings:
            key = (f.property, f.offset, f.location)
            if key not in seen:
                seen[key] = self.source.violation(
                    f.property, f.message, f.offset, f.location, f.expected, f.actual, seed
                )
        return list(seen.values())
