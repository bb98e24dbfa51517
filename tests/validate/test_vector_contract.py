"""P1, P2, P4, P5 and P8 on SVE/SME state, judged from hand-made observations: each
verdict fails on the fault it names and holds on the state a correct stub leaves."""

from __future__ import annotations

import pytest

from tests.support.plans import current, first
from vtlgen.plan import Plan
from vtlgen.validate import contract, vector_contract
from vtlgen.validate.backends.base import Trap
from vtlgen.validate.trial import GUARD, InitialState, Switch, TrialFactory

LENGTHS = (16, 48, 256)


def trial(plan: Plan, length: int, seed: int = 1) -> tuple[InitialState, Switch]:
    factory = TrialFactory(plan, length)
    state = factory.initial(seed, 0x40000)
    return state, factory.switch(state)


def good_trap(plan: Plan, state: InitialState) -> dict[str, bytes]:
    """What a correct register-transport stub shows at the trap: VTL0's values everywhere."""
    vector = dict(state.vector)
    for slot in plan.model.vector.register_slots:
        vector[slot.register] = vector_contract.slot_bytes(slot, state, state.region)
    return vector


def trap_of(state: InitialState, vector: dict[str, bytes], region: bytes | None = None) -> Trap:
    return Trap(0, "conduit", 0xD4000062, {}, state.region if region is None else region, vector=vector)


def properties(findings: list[contract.Finding]) -> set[str]:
    return {f.property for f in findings}


@pytest.mark.parametrize("length", LENGTHS)
def test_a_correct_trap_holds(length: int) -> None:
    plan = current("hvc3")
    state, _ = trial(plan, length)
    assert vector_contract.entry(plan, state, trap_of(state, good_trap(plan, state))) == []


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("register", ["z0", "z17", "p3", "ffr"])
def test_vtl2_state_left_in_a_shared_register_is_a_leak(length: int, register: str) -> None:
    plan = current("hvc3")
    state, _ = trial(plan, length)
    vector = good_trap(plan, state)
    vector[register] = state.vector[register]  # never loaded: VTL2's value stays
    findings = vector_contract.entry(plan, state, trap_of(state, vector))
    assert [(f.property, f.location) for f in findings] == [("P2", register)]


@pytest.mark.parametrize("length", LENGTHS)
def test_a_value_from_the_wrong_slot_is_p1(length: int) -> None:
    plan = current("hvc3")
    state, _ = trial(plan, length)
    vector = good_trap(plan, state)
    vector["z4"], vector["p4"] = vector["z5"], vector["p5"]  # off by one element
    findings = vector_contract.entry(plan, state, trap_of(state, vector))
    assert {(f.property, f.location) for f in findings} == {("P1", "z4"), ("P1", "p4")}


@pytest.mark.parametrize("length", [48, 256])
def test_vtl2_bits_above_127_of_an_exchanged_q_are_a_leak(length: int) -> None:
    """1.0.0 exchanges Q in the register bank; VTL0 sees the whole Z, whose upper bits must
    not be VTL2's (AdvSIMD loads zero them)."""
    plan = first("hvc3")
    state, _ = trial(plan, length)
    zeroed = {name: (value[:16] + bytes(length - 16) if name[1:].isdigit() and name[0] == "z" else value)
              for name, value in state.vector.items()}  # fmt: skip
    assert vector_contract.entry(plan, state, trap_of(state, zeroed)) == []
    leaky = dict(zeroed, z9=state.vector["z9"])
    findings = vector_contract.entry(plan, state, trap_of(state, leaky))
    assert [(f.property, f.location) for f in findings] == [("P2", "z9")]


@pytest.mark.parametrize("length", LENGTHS)
def test_memory_transport_slots_must_not_change_before_the_trap(length: int) -> None:
    plan = current("smccc")
    state, _ = trial(plan, length)
    slot = plan.model.vector.memory_slots[3]
    region = bytearray(state.region)
    start = GUARD + slot.offset(length)
    region[start] ^= 0xFF
    findings = vector_contract.entry(plan, state, trap_of(state, dict(state.vector), bytes(region)))
    assert [f.property for f in findings] == ["P1"]
    assert vector_contract.entry(plan, state, trap_of(state, dict(state.vector))) == []


def after_return(plan: Plan, state: InitialState, switch: Switch) -> bytearray:
    """The region a correct stub leaves: every shared slot holds what VTL0 left."""
    region = bytearray(state.expected_region(plan, switch.expected_slots))
    return bytearray(vector_contract.expected_region(plan, state, region, switch.expected_vector))


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("convention", ["hvc3", "smccc"])
def test_exit_state_in_the_extended_context(length: int, convention: str) -> None:
    plan = current(convention)
    state, switch = trial(plan, length)
    registers = state.entry
    good = after_return(plan, state, switch)
    assert (
        contract.at_return(plan, state, registers, bytes(good), switch.expected_slots, set(), switch.expected_vector)
        == []
    )
    lost = bytearray(good)
    slot = plan.model.vector.slots[-1]  # FFR, the last one stored
    start = GUARD + slot.offset(length)
    lost[start : start + slot.size(length)] = vector_contract.slot_bytes(slot, state, state.region)
    findings = contract.at_return(
        plan, state, registers, bytes(lost), switch.expected_slots, set(), switch.expected_vector
    )
    assert [(f.property, f.location) for f in findings] == [("P4", vector_contract.where(slot, state))]
    gap = bytearray(good)
    gap[GUARD + plan.context.size + 8] ^= 0xFF  # between the fixed part and the extended one: no slot
    findings = contract.at_return(
        plan, state, registers, bytes(gap), switch.expected_slots, set(), switch.expected_vector
    )
    assert properties(findings) == {"P8"}


@pytest.mark.parametrize("length", LENGTHS)
def test_za_is_the_callers(length: int) -> None:
    plan = current("hvc3")
    state, _ = trial(plan, length)
    kept = dict(state.vector)
    assert vector_contract.caller(plan, state, kept, 0b10) == []
    zeroed = dict(kept, za=bytes(len(kept["za"])))
    assert [f.property for f in vector_contract.caller(plan, state, zeroed, 0b10)] == ["P5"]
    assert [f.location for f in vector_contract.caller(plan, state, kept, 0)] == ["svcr.za"]
    # 1.0.0 leaves ZA clobbered, kept by the caller: the stub may change it.
    old = first("hvc3")
    old_state, _ = trial(old, length)
    assert vector_contract.caller(old, old_state, dict(old_state.vector, za=b""), 0) == []
