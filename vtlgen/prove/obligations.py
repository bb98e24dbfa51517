"""The proof's evaluator of P1-P10 (`vtlgen.properties`): formulas over one path's symbolic state.

Each check asks z3 whether some input reaching this point breaks the property: a
satisfiable violation is recorded with its condition, from which `counterexample` builds
concrete inputs; an unsatisfiable one is proved for every input. The rules follow the
register-preservation spec that the trials check (`vtlgen.validate.contract`), instruction
by instruction where the property says so, and word a violation as the trials do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

import z3

from vtlgen import properties as say
from vtlgen.isa import registers
from vtlgen.plan import Plan
from vtlgen.prove import world as w
from vtlgen.prove.state import State, Unproven

SOLVER_TIMEOUT_MS = 20_000


# How a value is shown: a term (its value in the counterexample), text, or a sequence of both.
Shown = Union[z3.ExprRef, str, tuple[Any, ...]]


@dataclass(frozen=True)
class Failure:
    property: str
    message: str
    offset: int | None
    location: str  # as a key: the same on every path
    expected: Shown
    actual: Shown
    condition: tuple[z3.BoolRef, ...]  # the path and the violation: satisfiable
    shown_location: Shown | None = None  # the location as shown, when it depends on the inputs


@dataclass(frozen=True)
class Gap:
    """Why a path could not be finished: the verdict is UNPROVEN, never PROVED."""

    offset: int | None
    reason: str


def signed(value: int) -> int:
    return value - (1 << 64) if value >> 63 else value


def _affine(term: z3.BitVecRef) -> tuple[z3.BitVecRef | None, int] | None:
    """(symbol, constant) when the term is a sum of at most one symbol and constants.

    Read off the term's top operators with one kind query each (z3's Python layer costs more
    than the arithmetic here)."""
    kind = term.decl().kind()
    if kind == z3.Z3_OP_BNUM:
        return None, int(term.as_long())
    if kind == z3.Z3_OP_UNINTERPRETED:
        return (term, 0) if term.num_args() == 0 else None
    if kind not in (z3.Z3_OP_BADD, z3.Z3_OP_BSUB):
        return None
    parts = [_affine(child) for child in term.children()]
    if any(part is None for part in parts):
        return None
    symbols = [part[0] for part in parts if part is not None and part[0] is not None]
    if len(symbols) > 1 or (kind == z3.Z3_OP_BSUB and (len(parts) != 2 or parts[1][0] is not None)):  # type: ignore[index]
        return None
    values = [part[1] for part in parts if part is not None]
    constant = values[0] - sum(values[1:]) if kind == z3.Z3_OP_BSUB else sum(values)
    return (symbols[0] if symbols else None), constant & ((1 << 64) - 1)


def _ranges(offsets: list[int]) -> tuple[tuple[int, int], ...]:
    """Sorted byte offsets as maximal [low, high) runs."""
    runs: list[list[int]] = []
    for at in offsets:
        if runs and runs[-1][1] == at:
            runs[-1][1] = at + 1
        else:
            runs.append([at, at + 1])
    return tuple((low, high) for low, high in runs)


def container_name(base: int) -> str:
    if base == w.SP:
        return "sp"
    if w.x_base(0) <= base <= w.x_base(30):
        return f"x{(base - w.x_base(0)) // 8}"
    if w.z_base(0) <= base <= w.z_base(31):
        return f"q{(base - w.z_base(0)) // 0x20}"
    if base in w.FLAGS.values():
        return "nzcv"
    return f"register[{base:#x}]"


def bytes_of(name: str) -> set[int]:
    """The register-space bytes of a spec register (q5: the low 16 bytes of z5; nzcv: the flags)."""
    if name == "nzcv":
        return set(w.FLAGS.values())
    base, offset, size = w.register_base(name)
    return set(range(base + offset, base + offset + size))


@dataclass
class ProofObligations:
    plan: Plan
    world: w.World
    solver: z3.Solver = field(default_factory=z3.Solver)
    failures: dict[tuple[str, int | None, str], Failure] = field(default_factory=dict)
    gaps: dict[int | None, Gap] = field(default_factory=dict)
    affine: dict[int, tuple[z3.BitVecRef, tuple[z3.BitVecRef | None, int] | None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.solver.set("timeout", SOLVER_TIMEOUT_MS)  # "unknown" is UNPROVEN, never a pass
        self.solver.add(*self.world.constraints())
        self.initial = State(self.world.entry_registers(), {}, [], 0, vector=self.world.vector_entry_registers())
        shared: set[int] = set()
        for slot in self.plan.slots:
            shared.update(range(slot.offset, slot.offset + slot.size))
        vl = self.world.vector_length
        self.vector = self.plan.model.vector if vl else None
        for vslot in self.vector.slots if self.vector is not None else ():
            shared.update(range(vslot.offset(vl), vslot.offset(vl) + vslot.size(vl)))
        self.shared_bytes = frozenset(shared)
        self.shared_ranges = _ranges(sorted(shared))

    # --- solver helpers ---------------------------------------------------------------------

    def feasible(self, path: list[z3.BoolRef], *extra: z3.BoolRef) -> bool:
        self.solver.push()
        self.solver.add(*path, *extra)
        result = self.solver.check()
        self.solver.pop()
        if result == z3.unknown:
            raise Unproven("the solver gave up")
        return bool(result == z3.sat)

    def equal(self, state: State, a: z3.BitVecRef, b: z3.BitVecRef) -> bool:
        if bool(a.eq(b)):
            return True
        sa, sb = z3.simplify(a), z3.simplify(b)
        if bool(sa.eq(sb)):
            return True
        if z3.is_bv_value(sa) and z3.is_bv_value(sb):
            return False
        return not self.feasible(state.path, a != b)

    def _affine(self, term: z3.BitVecRef) -> tuple[z3.BitVecRef | None, int] | None:
        """`_affine`, remembered per term: SP and the context pointer are asked about again and again."""
        key = term.get_id()
        if key not in self.affine:
            self.affine[key] = (term, _affine(term))  # the term is kept so that its id is not reused
        return self.affine[key][1]

    def offset_from(self, term: z3.BitVecRef, base: z3.BitVecRef) -> int | None:
        """term - base when it is the same for every input; addresses are mostly symbol + constant,
        which is read off the term without asking z3 to simplify."""
        affine = self._affine(term)
        if affine is not None:
            symbol, constant = affine
            if symbol is not None and bool(symbol.eq(base)):
                return signed(constant)
            if symbol is not None and z3.is_const(base):
                return None  # another symbol plus a constant: never a fixed offset from this one
        difference = z3.simplify(term - base)
        return signed(difference.as_long()) if z3.is_bv_value(difference) else None

    def fail(
        self,
        state: State,
        prop: str,
        message: str,
        offset: int | None,
        location: str,
        expected: Shown,
        actual: Shown,
        bad: z3.BoolRef | None = None,
        shown_location: Shown | None = None,
    ) -> bool:
        """Record a violation if some input on this path shows it; True if one does."""
        key = (prop, offset, location)
        extra = () if bad is None else (bad,)
        if key in self.failures or not self.feasible(state.path, *extra):
            return key in self.failures
        condition = (*state.path, *extra)
        self.failures[key] = Failure(prop, message, offset, location, expected, actual, condition, shown_location)
        return True

    def gap(self, offset: int | None, reason: str) -> None:
        self.gaps.setdefault(offset, Gap(offset, reason))

    # --- P1, P2: at the trap -------------------------------------------------------------------

    def entry(self, state: State, offset: int) -> None:
        model = self.plan.model
        for slot in model.register_slots:
            want = self.initial.load("ctx", slot.offset, slot.size, self.world)
            got = state.register(slot.register, self.world)
            if not self.equal(state, got, want):
                leak = self.world.is_vtl2(z3.simplify(got))
                prop = "P2" if leak else "P1"
                message = (
                    say.vtl2_value_visible(slot.register)
                    if leak
                    else say.not_vtl0_value(slot.register, slot.field, slot.index)
                )
                self.fail(state, prop, message, offset, slot.register, want, got, got != want)
        for slot in model.memory_slots:
            want = self.initial.load("ctx", slot.offset, slot.size, self.world)
            got = state.load("ctx", slot.offset, slot.size, self.world)
            if not self.equal(state, got, want):
                where = f"ctx->{slot.field}[{slot.index}]"
                prop = "P2" if self.world.is_vtl2(z3.simplify(got)) else "P1"
                self.fail(state, prop, say.changed_before_trap(where), offset, where, want, got, got != want)
        self._vector_entry(state, offset)
        for argument in model.arguments:
            got = state.register(argument.register, self.world)
            if argument.from_caller:  # a C argument passed through: the caller's value, untouched
                want = self.initial.register(argument.register, self.world)
            else:
                want = self.world.ctx if argument.value is None else z3.BitVecVal(argument.value, 64)
            if not self.equal(state, got, want):
                message = say.argument_missing(argument.register, argument.name, argument.width)
                self.fail(state, "P1", message, offset, argument.register, want, got, got != want)

    def _vector_entry(self, state: State, offset: int) -> None:
        """P1/P2 for SVE state at the trap (`vtlgen.validate.vector_contract.entry`): each shared
        Z, P and FFR holds VTL0's value from the extended context, all VL bytes of it; Z bits
        above 127 that VTL0 sees hold no VTL2 value."""
        if self.vector is None:
            return
        vl, world = self.world.vector_length, self.world
        for slot in self.vector.register_slots:
            want = self.initial.load("ctx", slot.offset(vl), slot.size(vl), world)
            got = state.vector_register(slot.register, world)
            if not self.equal(state, got, want):
                leak = world.is_vtl2(z3.simplify(got))
                message = (
                    f"VTL0 would see VTL2's {slot.register} at the trap (VL {vl})"
                    if leak
                    else f"{slot.register} does not hold VTL0's value from ctx->{slot.element.name}[{slot.index}] "
                    f"(VL {vl}) at the trap"
                )
                self.fail(state, "P2" if leak else "P1", message, offset, slot.register, want, got, got != want)
        for name in self.vector.visible_upper:
            upper = z3.Extract(8 * vl - 1, 128, state.vector_register(name, world)) if vl > 16 else None
            if upper is not None and world.is_vtl2(z3.simplify(upper)):
                message = f"VTL0 would see VTL2's bits above 127 of {name} at the trap (VL {vl})"
                self.fail(state, "P2", message, offset, name, "no VTL2 value above bit 127", upper)
        for slot in self.vector.memory_slots:
            want = self.initial.load("ctx", slot.offset(vl), slot.size(vl), world)
            got = state.load("ctx", slot.offset(vl), slot.size(vl), world)
            if not self.equal(state, got, want):
                where = f"ctx->{slot.element.name}[{slot.index}] (VL {vl})"
                prop = "P2" if world.is_vtl2(z3.simplify(got)) else "P1"
                message = say.changed_before_trap(where)
                self.fail(state, prop, message, offset, slot.register, want, got, got != want, where)

    # --- P3, P6: after every instruction -------------------------------------------------------

    def frame(self, state: State, offset: int) -> None:
        """P3 and P6 as `contract.FrameTracker` states them, for every input. A broken frame
        rule is reported at the instruction that broke it, not at each one after."""
        world = self.world
        previously, state.broken = state.broken, frozenset()
        for name in self.plan.model.kept:
            got, want = state.register(name, world), self.initial.register(name, world)
            if not self.equal(state, got, want):
                message = say.writes_kept(name)
                self._sticky(previously, state, "P3", message, offset, name, want, got, got != want)
        fp = state.register("x29", world)
        live = not self.equal(state, fp, world.fp) and self._record(state, offset, fp, previously)
        # x30 is private, and the unwinder reads the return address from the record, so x30 is
        # scratch exactly while the live record at x29 holds the entry x30 (stacktrace.c).
        lr = state.register("x30", world)
        if not live and not self.equal(state, lr, world.lr):
            message = say.X30_WITHOUT_RECORD
            self._sticky(previously, state, "P3", message, offset, "x30", world.lr, lr, lr != world.lr)

    def _record(self, state: State, offset: int, fp: z3.BitVecRef, previously: frozenset[tuple[str, str]]) -> bool:
        """P6 (`contract.frame_pointer_fault`): x29 other than the caller's points at a record
        {caller x29, entry x30} in the stub's frame, at or above SP, 8-byte aligned (Linux's
        unwinder, arch/arm64/kernel/stacktrace.c, rejects `fp & 7` and records off the stack).
        True when it does for every input on this path."""
        world = self.world
        relative = self.offset_from(fp, world.sp)
        sp = self.offset_from(state.register("sp", world), world.sp)
        saved_fp = saved_lr = None
        bad: z3.BoolRef | None = fp != world.fp
        if relative is not None and relative % 8:
            problem = say.FP_MISALIGNED
        elif relative is None or sp is None or not sp <= relative <= -16:
            problem = say.FP_OUTSIDE_FRAME
        else:
            saved_fp = state.load("stack", relative, 8, world)
            saved_lr = state.load("stack", relative + 8, 8, world)
            if self.equal(state, saved_fp, world.fp) and self.equal(state, saved_lr, world.lr):
                return True
            problem = say.FP_RECORD_WRONG
            bad = z3.Or(saved_fp != world.fp, saved_lr != world.lr)
        expected = (world.fp, " or a record {", world.fp, ", ", world.lr, "}")
        record: Shown = say.UNREADABLE_RECORD if saved_fp is None else ("{", saved_fp, ", ", saved_lr, "}")
        actual = ("x29 ", fp, " (sp ", state.register("sp", world), ", record ", record, ")")
        self._sticky(previously, state, "P6", problem, offset, "x29", expected, actual, bad)
        return False

    def _sticky(self, previously: frozenset[tuple[str, str]], state: State, prop: str, *args: object) -> None:
        """Report a frame rule once when it breaks, not again at every instruction while it stays broken."""
        message, offset, location, expected, actual = args[:5]
        bad = args[5] if len(args) > 5 else None
        key = (prop, str(location))
        extra = () if bad is None else (bad,)
        if key in previously:
            if self.feasible(state.path, *extra):
                state.broken |= {key}
            return
        if self.fail(state, prop, message, offset, location, expected, actual, bad):  # type: ignore[arg-type]
            state.broken |= {key}

    # --- P7, P8: every access ------------------------------------------------------------------

    def locate(self, state: State, address: z3.BitVecRef) -> tuple[str, int] | z3.BoolRef:
        """The region and offset of an address that is the same offset from its base for every input;
        otherwise the condition under which it lies elsewhere than in a trial (the reference inputs)."""
        world = self.world
        bases = (("ctx", world.ctx), ("stack", world.sp))
        for region, base in bases:
            relative = self.offset_from(address, base)
            if relative is not None:
                return region, relative
        self.solver.push()
        self.solver.add(*state.path)
        self.solver.push()
        self.solver.add(*world.at_reference())
        if self.solver.check() != z3.sat:  # this path needs other addresses than a trial's
            self.solver.pop()
            self.solver.check()
        else:
            self.solver.pop()
            self.solver.push()
            self.solver.add(*world.at_reference())
            self.solver.check()
        model = self.solver.model()
        self.solver.pop()
        self.solver.pop()
        for region, base in bases:
            guess = model.eval(address - base, model_completion=True)
            if not self.feasible(state.path, address - base != guess):
                return region, signed(guess.as_long())
        guess = model.eval(address - world.ctx, model_completion=True)
        return address - world.ctx != guess

    def access(
        self, state: State, offset: int, address: z3.BitVecRef, size: int, write: bool, sp_base: z3.BitVecRef | None
    ) -> tuple[str, int] | None:
        verb = "writes" if write else "reads"  # for the messages only the proof gives
        located = self.locate(state, address)
        if not isinstance(located, tuple):
            outside = z3.Not(self._allowed(state, address, size, write))
            if self.feasible(state.path, outside):
                message = f"{verb} outside the {'shared slots' if write else 'context'} and the stub's frame"
                self.fail(state, "P8", message, offset, "address", "context or frame", address, outside)
            else:  # always somewhere allowed, but not always the same place
                message = f"{verb} an address that is not a fixed offset from the context or the entry SP"
                self.fail(state, "P8", message, offset, "address", "context or frame", address, located)
            return None
        region, start = located
        if region == "ctx":
            where = f"ctx{start:+#x}"
            if write and not all(b in self.shared_bytes for b in range(start, start + size)):
                self.fail(
                    state,
                    "P8",
                    say.outside_shared_slots(where),
                    offset,
                    where,
                    say.A_SHARED_SLOT,
                    say.access_of(size, True),
                )
            elif not write and (start < 0 or start + size > self.world.readable_size):
                message = f"reads {where}, outside the context"
                self.fail(
                    state,
                    "P8",
                    message,
                    offset,
                    where,
                    say.readable_context(self.world.readable_size),
                    say.access_of(size, False),
                )
            return located
        world = self.world
        now = self.offset_from(state.register("sp", world), world.sp)
        before = None if state.start_sp is None else self.offset_from(state.start_sp, world.sp)
        if now is None or before is None:
            self.fail(state, "P7", "SP is not a fixed offset from the entry SP", offset, "sp", "sp", "sp")
            return located
        if sp_base is not None:
            base = self.offset_from(sp_base, world.sp)
            if base is None or base % 16:
                self.fail(state, "P7", say.MISALIGNED_SP, offset, "sp", say.SP_ALIGNMENT, sp_base)
        low = min(now, before)  # a pre-indexed push stores at its new SP, a post-indexed pop loads at the old
        where, shown = f"[sp{start:+#x}]", ("[", address, "]")
        if start < low:
            self.fail(state, "P7", say.below_sp(write), offset, where, (">= sp ", world.sp + low), address, None, shown)
        elif start + size > 0:
            self.fail(state, "P7", say.above_caller_sp(write), offset, where, ("< ", world.sp), address, None, shown)
        return located

    def _allowed(self, state: State, address: z3.BitVecRef, size: int, write: bool) -> z3.BoolRef:
        """P8 as a formula: the access lies in a shared slot (any context byte, for a read) or the frame."""
        ctx, sp = self.world.ctx, self.world.sp
        ranges = self.shared_ranges if write else ((0, self.world.readable_size),)
        inside = [z3.And(z3.ULE(ctx + low, address), z3.ULE(address + size, ctx + high)) for low, high in ranges]
        inside.append(z3.And(z3.ULE(state.register("sp", self.world), address), z3.ULE(address + size, sp)))
        return z3.Or(*inside)

    # --- P10: reads after an SMCCC call ----------------------------------------------------------

    def poisoned_read(self, state: State, offset: int, base: int) -> None:
        name = container_name(base)
        self.fail(state, "P10", say.reads_clobbered(name), offset, name, say.UNREAD, say.READ)

    # --- P4, P5, P9: at the return ----------------------------------------------------------------

    def exit(self, state: State, offset: int) -> None:
        world = self.world
        if state.traps == 0:
            self.fail(state, "P9", say.NEVER_TRAPS, offset, "", say.ONE_TRAP, say.NO_TRAP)
            return
        for name in registers.CALLER_SAVED_VIEW:
            got, want = state.register(name, world), self.initial.register(name, world)
            shown = name
            if name.startswith("q"):  # only the low 64 bits of v8-v15 are callee-saved (aapcs64)
                got, want, shown = z3.Extract(63, 0, got), z3.Extract(63, 0, want), f"d{registers.number(name)}"
            if not self.equal(state, got, want):
                self.fail(state, "P5", say.not_as_at_entry(shown), offset, shown, want, got, got != want)
        self._vector_exit(state, offset)
        for slot in self.plan.slots:
            got = state.load("ctx", slot.offset, slot.size, world)
            want = state.expected.get(slot.register, self.initial.load("ctx", slot.offset, slot.size, world))
            if not self.equal(state, got, want):
                where = f"ctx->{slot.field}[{slot.index}]"
                message = say.slot_not_vtl0s(where, slot.register)
                # Blamed on the last store to the slot, else on the trap (as the trials do).
                blame = state.writers.get(slot.offset, state.trap_at)
                self.fail(state, "P4", message, blame, where, want, got, got != want)

    def _vector_exit(self, state: State, offset: int) -> None:
        """P4 for the extended context's shared slots, P5 for ZA and PSTATE.ZA when the stub
        must keep them (`vtlgen.validate.vector_contract.exit_slots` and `caller`)."""
        if self.vector is None:
            return
        vl, world = self.world.vector_length, self.world
        for slot in self.vector.slots:
            start, size = slot.offset(vl), slot.size(vl)
            got = state.load("ctx", start, size, world)
            want = state.expected.get(slot.register, self.initial.load("ctx", start, size, world))
            if not self.equal(state, got, want):
                where = f"ctx->{slot.element.name}[{slot.index}] (VL {vl})"
                blame = state.writers.get(start, state.trap_at)
                message = say.slot_not_vtl0s(where, slot.register)
                self.fail(state, "P4", message, blame, slot.register, want, got, got != want, where)
        if "za" in self.vector.stub_keeps:
            for name, message in (
                ("svcr.za", "PSTATE.ZA is not as at entry: ZA is the caller's"),
                ("za", f"ZA is not as at entry (VL {vl}): ZA is the caller's"),
            ):
                got, want = state.vector[name], self.initial.vector[name]
                if not self.equal(state, got, want):
                    # ZA's contents matter only when the caller had PSTATE.ZA = 1
                    bad = got != want if name == "svcr.za" else z3.And(self.initial.vector["svcr.za"] == 1, got != want)
                    self.fail(state, "P5", message, offset, name, want, got, bad)
