"""Trial states: random, distinct, tagged, and the same for the same seed."""

from tests.conftest import SPEC
from vtlgen.loader import load
from vtlgen.lowering import lower
from vtlgen.trial import CONTEXT, GUARD, TAG_VTL0, TAG_VTL2, TrialFactory

PLANS = {p.convention_id: p for p in lower(load(SPEC).spec, "spec/hyperv_vtl.yaml")}


def test_same_seed_same_trial() -> None:
    factory = TrialFactory(PLANS["hvc3"])
    a, b = factory.initial(7, 0x1000), factory.initial(7, 0x1000)
    assert a.entry == b.entry and a.region == b.region
    assert factory.switch(a) == factory.switch(b)
    assert factory.initial(8, 0x1000).entry != a.entry


def test_values_are_distinct_and_tagged() -> None:
    state = TrialFactory(PLANS["hvc3"]).initial(1, 0x1000)
    gprs = [state.entry[f"x{n}"] for n in range(1, 29)]
    halves = [h for n in range(32) for h in (state.entry[f"q{n}"] >> 64, state.entry[f"q{n}"] & (2**64 - 1))]
    assert len(set(gprs + halves)) == len(gprs) + len(halves)
    assert all(v >> 56 == TAG_VTL2 for v in gprs)
    assert state.entry["x0"] == CONTEXT
    for slot in PLANS["hvc3"].slots:
        value = state.slot_value(slot.offset, slot.size)
        assert value >> (8 * slot.size - 8) == TAG_VTL0
    assert len(state.region) == 2 * GUARD


def test_the_model_changes_what_the_abi_lets_change() -> None:
    factory = TrialFactory(PLANS["smccc"])
    state = factory.initial(3, 0x1000)
    switch = factory.switch(state)
    changed = {name for name, _ in switch.registers}
    assert {f"x{n}" for n in range(18)} <= changed  # SMCCC: x0-x17 may come back changed
    assert not changed & {"x18", "x19", "x29", "x30", "sp", "q8"}  # preserved by SMCCC
    assert len(switch.memory) == len(PLANS["smccc"].slots)  # VTL0's new state lands in memory
    assert dict(switch.registers)["x0"] == 0  # the status register: success
