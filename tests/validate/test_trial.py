"""Trial states: random, distinct, tagged, and the same for the same seed."""

from dataclasses import replace

from tests.support import SPEC
from vtlgen.lower.convention import lower
from vtlgen.spec.loader import load
from vtlgen.validate.trial import GUARD, TAG_VTL0, TAG_VTL2, GivenTrial, TrialFactory, replayable

PLANS = {p.convention_id: p for p in lower(load(SPEC).spec, "spec/hyperv_vtl.yaml")}


def test_same_seed_same_trial() -> None:
    factory = TrialFactory(PLANS["hvc3"])
    a, b = factory.initial(7, 0x1000), factory.initial(7, 0x1000)
    assert a.entry == b.entry and a.region == b.region
    assert factory.switch(a) == factory.switch(b)
    assert factory.initial(8, 0x1000).entry != a.entry


def _plain(factory: TrialFactory) -> object:
    return next(s for s in (factory.initial(k, 0x1000) for k in range(100)) if not s.hunting)


def test_plain_trials_have_distinct_tagged_values() -> None:
    factory = TrialFactory(PLANS["hvc3"])
    state = _plain(factory)
    assert isinstance(state, type(factory.initial(0, 0x1000)))
    gprs = [state.entry[f"x{n}"] for n in range(1, 29)]
    halves = [h for n in range(32) for h in (state.entry[f"q{n}"] >> 64, state.entry[f"q{n}"] & (2**64 - 1))]
    assert len(set(gprs + halves)) == len(gprs) + len(halves)
    assert all(v >> 56 == TAG_VTL2 for v in gprs)
    assert state.entry["x0"] == state.addresses.context
    for slot in PLANS["hvc3"].slots:
        value = state.slot_value(slot.offset, slot.size)
        assert value >> (8 * slot.size - 8) == TAG_VTL0
    # The region spans the context's reserved size (max_size), with guards on both sides.
    assert len(state.region) == 2 * GUARD + PLANS["hvc3"].context.max_size


def test_hunting_trials_bring_edge_values_everywhere() -> None:
    """Over a few trials, VTL0's values, the caller's scratch registers and SMCCC results
    take every edge value: zero, all-ones, the sign bit alone, small, and repeats."""
    factory = TrialFactory(PLANS["smccc"])
    slots, caller, results = set(), set(), set()
    for seed in range(60):
        state = factory.initial(seed, 0x1000)
        slots |= {state.slot_value(s.offset, 8) for s in PLANS["smccc"].slots if s.size == 8}
        caller |= {state.entry[f"x{n}"] for n in range(1, 18)}
        results.add(dict(factory.switch(state).registers)["x0"])
    for values in (slots, caller):
        assert {0, 2**64 - 1, 1 << 63} <= values and any(0 < v < 17 for v in values)
    assert {0, 2**64 - 1} <= results  # success and SMCCC_RET_NOT_SUPPORTED
    assert all(state.entry[r] >> 56 == TAG_VTL2 for r in ("x19", "x28"))  # P2 needs them tagged


def test_the_model_changes_what_the_abi_lets_change() -> None:
    factory = TrialFactory(PLANS["smccc"])
    state = factory.initial(3, 0x1000)
    switch = factory.switch(state)
    changed = {name for name, _ in switch.registers}
    assert {f"x{n}" for n in range(18)} <= changed  # SMCCC: x0-x17 may come back changed
    assert not changed & {"x18", "x19", "x29", "x30", "sp", "q8"}  # preserved by SMCCC
    assert len(switch.memory) == len(PLANS["smccc"].slots)  # VTL0's new state lands in memory
    assert dict(switch.registers)["x0"] in (0, 2**64 - 1, 2**64 - 2, 2**64 - 3, 1)  # an SMCCC status
    assert len(switch.scribble) > 0  # the model uses the stack below SP at the trap


def test_every_drawn_trial_is_replayable_and_addresses_outside_the_windows_are_not() -> None:
    factory = TrialFactory(PLANS["hvc3"])
    drawn = [factory.initial(seed, 0x40000).addresses for seed in range(200)]
    assert all(replayable(at) for at in drawn)
    at = drawn[0]
    assert not replayable(replace(at, context=at.context + 8))  # not 16-byte aligned
    assert not replayable(replace(at, context=at.context & 0xFFFF_FFF0))  # below 4 GiB: no window there
    assert not replayable(replace(at, entry_sp=at.stack_high))  # no room for the caller's records


def test_a_given_trial_is_the_same_whatever_the_seed() -> None:
    factory = TrialFactory(PLANS["smccc"])
    state = factory.initial(5, 0x40000)
    switch = factory.switch(state)
    given = GivenTrial(PLANS["smccc"], state, switch)
    assert given.initial(0, 0x40000) is state and given.initial(9, 0x40000) is state
    assert given.switch(factory.initial(1, 0x40000)) is switch
