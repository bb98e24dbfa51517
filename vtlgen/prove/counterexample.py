"""A violation's condition, solved into concrete inputs that a unicorn trial can replay.

z3 may pick any inputs that break the property; picking inputs like a trial's makes the
replay comparable to the trials. So every symbol is first pinned to the value trial 0 gives
it (its addresses, its tagged random values, its hypervisor move), and only the pins the
violation contradicts are dropped: the unsatisfiable core names them.
"""

from __future__ import annotations

from dataclasses import dataclass

import z3

from vtlgen.plan import Plan
from vtlgen.prove import world as w
from vtlgen.prove.budget import COUNTEREXAMPLE_BUDGET_S, OutOfBudget, ProofBudget
from vtlgen.prove.obligations import BudgetedSolver
from vtlgen.validate.trial import (
    CALLER_AREA,
    CONTEXT_WINDOW,
    GUARD,
    STACK_ROOM,
    STACK_WINDOW,
    STATUS_SUCCESS,
    WINDOW_SIZE,
    Addresses,
    TrialFactory,
    replayable,
)


def trial_addresses(plan: Plan, return_address: int) -> w.Addresses:
    """Where trial 0 (seed 0, vtlgen/validate/trial.py) puts the context and the stack: the
    reference a counterexample keeps to unless the violation needs other addresses."""
    at = TrialFactory(plan).initial(0, return_address).addresses
    return w.Addresses(at.context, at.entry_sp, at.caller_record, return_address)


MASK64 = (1 << 64) - 1
NZCV_SHIFT = 28  # NZCV bits 31-28 as read with `mrs`


@dataclass(frozen=True)
class Concrete:
    """Inputs of one replayable trial."""

    spec_id: str
    convention_id: str
    entry: dict[str, int]  # x0-x30, sp, q0-q31, nzcv
    context: bytes  # the context as VTL0 left it
    guard: bytes  # the trial region around it (bytes outside the context)
    stack: dict[int, int]  # 8-byte words relative to the entry SP that the violation depends on
    switch_registers: tuple[tuple[str, int], ...]  # the hypervisor's register values, in trial order
    switch_memory: tuple[tuple[int, bytes], ...]
    expected_slots: dict[str, int]
    vtl2_values: tuple[int, ...]
    # The stub it was found on (`vtlgen.prove.replay.stub_digest` of its machine code): a
    # replay on any other stub is refused, never reported as held.
    stub_file: str = ""
    stub_sha256: str = ""

    def at_trial_addresses(self, return_address: int) -> bool:
        """True when a trial could have drawn these addresses (the windows every backend maps,
        the caller's record above SP where the trials put it), so unicorn can replay it."""
        e = self.entry
        at = Addresses(e["x0"], e["sp"], len(self.guard) + len(self.context))
        return replayable(at) and e["x29"] == at.caller_record and e["x30"] == return_address


class Solver:
    """Concrete inputs for violation conditions of one plan."""

    def __init__(self, plan: Plan, world: w.World, return_address: int):
        self.plan, self.world = plan, world
        factory = TrialFactory(plan)
        self.factory = factory
        self.state = factory.initial(0, return_address)
        self.switch = factory.switch(self.state)
        self.defaults = self._defaults()

    def _defaults(self) -> dict[str, int]:
        entry, switch = self.state.entry, self.switch
        out = {
            f"{w.VTL2}ctx_address": self.world.reference.ctx,
            f"{w.VTL2}sp": self.world.reference.sp,
            f"{w.VTL2}x29": self.world.reference.fp,
            f"{w.VTL2}x30": self.world.reference.lr,
            f"{w.VTL2}nzcv": entry["nzcv"] >> NZCV_SHIFT,
        }
        out |= {f"{w.VTL2}x{n}": entry[f"x{n}"] for n in range(1, 29)}
        out |= {f"{w.VTL2}q{n}": entry[f"q{n}"] for n in range(32)}
        out |= {f"{w.VTL2}z{n}_upper": 0 for n in range(32)}
        for offset in range(0, self.world.max_size, 8):
            out[f"{w.VTL0}ctx{offset:+#x}"] = self.state.slot_value(offset, 8)
        out |= {f"{w.VTL0}new.{name}": value for name, value in switch.expected_slots.items()}
        slots = {slot.register for slot in self.plan.model.register_slots}
        for name, value in switch.registers:
            if name == "nzcv":
                out[f"{w.HYPERVISOR}nzcv"] = value >> NZCV_SHIFT
            elif name == self.plan.model.status_register:
                out[f"{w.HYPERVISOR}status"] = STATUS_SUCCESS
            elif name not in slots:
                out[f"{w.HYPERVISOR}{name}"] = value
        return out

    def model(self, condition: tuple[z3.BoolRef, ...]) -> z3.ModelRef | None:
        try:
            return self._model(condition)
        except OutOfBudget:  # the violation stands, without concrete inputs
            return None

    def _model(self, condition: tuple[z3.BoolRef, ...]) -> z3.ModelRef | None:
        budget = ProofBudget(COUNTEREXAMPLE_BUDGET_S, "the counterexample budget")
        solver = BudgetedSolver(budget, int(COUNTEREXAMPLE_BUDGET_S * 1000))
        solver.add(*self.world.constraints(), *condition)
        formulas = (*self.world.constraints(), *condition)
        symbols = set().union(*(w.symbols(c) for c in formulas))
        pins = {}
        for symbol in symbols:
            value = self.defaults.get(str(symbol))
            if value is None and str(symbol).startswith(f"{w.VTL2}stack"):
                value = 0  # the trials zero the stack below the entry SP
            if value is not None:
                pin = z3.Bool(f"pin:{symbol}")
                solver.add(z3.Implies(pin, symbol == value))
                pins[str(pin)] = pin
        # Failing the exact addresses of trial 0, any a trial could draw: the replay can run it.
        for name, pinned in self._windows().items():
            pin = z3.Bool(f"pin:{name}")
            solver.add(z3.Implies(pin, pinned))
            pins[str(pin)] = pin
        while True:
            result = solver.check(*pins.values())
            if result == z3.sat:
                return solver.model()
            if result != z3.unsat:
                return None
            core = [str(p) for p in solver.unsat_core()]
            if not core:
                return None
            exact = [name for name in core if not name.startswith("pin:window.")]
            for name in exact or core:  # the windows go last: a replay needs them
                pins.pop(name, None)

    def _windows(self) -> dict[str, z3.BoolRef]:
        """Where `trial.replayable` lets a trial put the context and the stack, as formulas."""
        world, region = self.world, self.factory.region_size
        return {
            "window.ctx": z3.And(
                z3.ULE(CONTEXT_WINDOW + GUARD, world.ctx),
                z3.ULE(world.ctx, CONTEXT_WINDOW + WINDOW_SIZE - region + GUARD),
            ),
            "window.sp": z3.And(
                z3.ULE(STACK_WINDOW + STACK_ROOM, world.sp), z3.ULE(world.sp, STACK_WINDOW + WINDOW_SIZE - CALLER_AREA)
            ),
            "window.x29": world.fp == world.sp + (self.world.reference.fp - self.world.reference.sp),
            "window.x30": world.lr == self.world.reference.lr,
        }

    def value(self, model: z3.ModelRef, name: str, bits: int) -> int:
        symbol = z3.BitVec(name, bits)
        got = model.eval(symbol, model_completion=False)
        if z3.is_bv_value(got):
            return int(got.as_long())
        return self.defaults.get(name, 0)

    def concrete(self, model: z3.ModelRef) -> Concrete:
        plan, value = self.plan, self.value
        entry = {f"x{n}": value(model, f"{w.VTL2}x{n}", 64) for n in range(1, 29)}
        entry["x0"] = value(model, f"{w.VTL2}ctx_address", 64)
        entry["x29"] = value(model, f"{w.VTL2}x29", 64)
        entry["x30"] = value(model, f"{w.VTL2}x30", 64)
        entry["sp"] = value(model, f"{w.VTL2}sp", 64)
        entry |= {f"q{n}": value(model, f"{w.VTL2}q{n}", 128) for n in range(32)}
        entry["nzcv"] = value(model, f"{w.VTL2}nzcv", 4) << NZCV_SHIFT
        context = b"".join(
            value(model, f"{w.VTL0}ctx{offset:+#x}", 64).to_bytes(8, "little")
            for offset in range(0, plan.context.size, 8)
        )
        stack = {}
        for decl in model.decls():
            name = decl.name()
            if name.startswith(f"{w.VTL2}stack"):
                stack[int(name[len(f"{w.VTL2}stack") :], 16)] = int(model[decl].as_long())
        expected = {}
        for slot in (*plan.model.register_slots, *plan.model.memory_slots):
            expected[slot.register] = value(model, f"{w.VTL0}new.{slot.register}", 8 * slot.size)
        slots = {slot.register for slot in plan.model.register_slots}
        names = self.factory.switched
        switched = []
        for index, name in enumerate(names):
            if plan.model.status_register and index == len(names) - 1:  # the status comes last
                switched.append((name, value(model, f"{w.HYPERVISOR}status", 64)))
            elif name in slots:
                switched.append((name, expected[name]))
            elif name == "nzcv":
                switched.append((name, value(model, f"{w.HYPERVISOR}nzcv", 4) << NZCV_SHIFT))
            else:
                switched.append((name, value(model, f"{w.HYPERVISOR}{name}", 128 if name.startswith("q") else 64)))
        memory = tuple(
            (slot.offset, expected[slot.register].to_bytes(slot.size, "little")) for slot in plan.model.memory_slots
        )
        vtl2 = set(self.state.vtl2_values)
        vtl2 |= {entry[f"x{n}"] for n in range(1, 29)}
        vtl2 |= {half for n in range(32) for half in (entry[f"q{n}"] & MASK64, entry[f"q{n}"] >> 64)}
        guard = self.state.region[:GUARD] + self.state.region[GUARD + plan.context.size :]
        return Concrete(
            plan.spec_id, plan.convention_id, entry, context, guard, stack, tuple(switched), memory, expected,
            tuple(sorted(vtl2)),
        )  # fmt: skip
