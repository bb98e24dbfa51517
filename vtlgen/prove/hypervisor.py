"""The hypervisor's move at the trap, from the Plan's model: the same facts the trials use.

Registers and slots the ABI lets change get fresh symbols (`vtl0.new.` for VTL0's new
state, `hv.` for what the hypervisor picks); everything else keeps its term. Register
classes: TLFS "Virtual Secure Mode" (per-VTL and shared registers; the upper Z bits may be
corrupted); SMCCC (DEN0028) for what a call may change.
"""

from __future__ import annotations

import z3

from vtlgen.plan import HypervisorModel
from vtlgen.prove import world as w
from vtlgen.prove.state import State


def move(model: HypervisorModel, state: State, sp: int | None) -> None:
    """VTL0 runs: whatever the ABI lets change, changes. `sp`: SP relative to the entry SP."""
    expected = {}
    for slot in model.register_slots:
        new = z3.BitVec(f"{w.VTL0}new.{slot.register}", 8 * slot.size)
        base, _, _ = w.register_base(slot.register)
        if slot.register.startswith("q"):  # the upper Z bits may be corrupted (TLFS)
            state.write_register(base, 32, z3.Concat(z3.BitVec(f"{w.HYPERVISOR}{slot.register}_upper", 128), new))
        else:
            state.write_register(base, 8, new)
        expected[slot.register] = new
    for slot in model.memory_slots:
        new = z3.BitVec(f"{w.VTL0}new.{slot.register}", 8 * slot.size)
        state.store("ctx", slot.offset, new)
        expected[slot.register] = new
    for name in model.randomized:
        if name == "nzcv":
            state.registers |= w.flags_word(z3.BitVec(f"{w.HYPERVISOR}nzcv", 4))
        elif name.startswith(("x", "q")):
            base, _, size = w.register_base(name)
            state.write_register(base, size, z3.BitVec(f"{w.HYPERVISOR}{name}", 8 * size))
    if model.status_register:  # SMCCC returns the status in x0
        base, _, size = w.register_base(model.status_register)
        state.write_register(base, size, z3.BitVec(f"{w.HYPERVISOR}status", 64))
    # An interrupt taken at the trap may scribble below SP (arm64 Linux has no red zone).
    cells = state.memory.get("stack", {})
    for at in [at for at in cells if sp is None or at < sp]:
        cells[at] = (z3.BitVec(f"{w.HYPERVISOR}scribble{at:+#x}", 8), 0)
    state.expected = expected
