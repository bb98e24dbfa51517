"""SVE/SME state in trials: entry values, VTL0's values in the extended context, and the
model's move at the trap follow the classes, at every vector length."""

from __future__ import annotations

import struct

import pytest

from tests.support.plans import current, first
from vtlgen.validate.trial import GUARD, TrialFactory
from vtlgen.validate.vector_trial import TAG_CLOBBER, TAG_VTL0, TAG_VTL0_NEW, TAG_VTL2, streaming_length

LENGTHS = (16, 48, 64, 256)


def tags(value: bytes) -> set[int]:
    usable = len(value) - len(value) % 8
    return {word >> 56 for word in struct.unpack(f"<{usable // 8}Q", value[:usable])}


def monotonic(value: bytes) -> bool:
    number = int.from_bytes(value, "little")
    return number & (number + 1) == 0


@pytest.mark.parametrize("length", LENGTHS)
def test_entry_state_has_the_vector_length_and_the_q_values_below(length: int) -> None:
    factory = TrialFactory(current("hvc3"), length)
    state = factory.initial(7, 0x40000)
    assert (state.vector_length, state.streaming_length) == (length, streaming_length(length))
    for n in range(32):
        z = state.vector[f"z{n}"]
        assert len(z) == length
        assert int.from_bytes(z[:16], "little") == state.entry[f"q{n}"]
        assert tags(z[16:]) <= {TAG_VTL2}
    assert all(len(state.vector[f"p{n}"]) == length // 8 for n in range(16))
    assert len(state.vector["ffr"]) == length // 8 and monotonic(state.vector["ffr"])
    assert len(state.vector["za"]) == state.streaming_length**2
    # The region covers the extended context at this length.
    assert factory.region_size >= 2 * GUARD + current("hvc3").context.size_at(length, state.streaming_length)


@pytest.mark.parametrize("length", LENGTHS)
def test_register_transport_moves_every_shared_piece_to_new_vtl0_values(length: int) -> None:
    plan = current("hvc3")
    factory = TrialFactory(plan, length)
    state = factory.initial(3, 0x40000)
    switch = factory.switch(state)
    moved = dict(switch.vector)
    slots = plan.model.vector.register_slots
    assert {s.register for s in slots} == set(moved) == set(switch.expected_vector)
    for slot in slots:
        start = GUARD + slot.offset(length)
        before = state.region[start : start + slot.size(length)]
        assert len(moved[slot.register]) == slot.size(length)
        assert moved[slot.register] != before  # a new value, not VTL0's old one
        if slot.register.startswith("z"):
            assert tags(before) == {TAG_VTL0} and tags(moved[slot.register]) == {TAG_VTL0_NEW}
    assert monotonic(moved["ffr"]) and moved["ffr"] != state.vector["ffr"]


@pytest.mark.parametrize("length", LENGTHS)
def test_memory_transport_moves_the_extended_context_and_keeps_the_registers(length: int) -> None:
    plan = current("smccc")
    factory = TrialFactory(plan, length)
    state = factory.initial(11, 0x40000)
    switch = factory.switch(state)
    assert not [name for name, _ in switch.vector if name != "za"]  # SMCCC preserves Z, P, FFR
    offsets = {offset: data for offset, data in switch.memory}
    for slot in plan.model.vector.memory_slots:
        assert offsets[slot.offset(length)] == switch.expected_vector[slot.register]


@pytest.mark.parametrize("length", LENGTHS)
def test_clobbered_upper_bits_are_randomized_apart_from_q(length: int) -> None:
    """1.0.0 leaves the Z bits above 127 clobbered: only they move, VL - 16 bytes each."""
    factory = TrialFactory(first("hvc3"), length)
    switch = factory.switch(factory.initial(5, 0x40000))
    uppers = {name: data for name, data in switch.vector if name.startswith("z") and name != "za"}
    if length == 16:
        assert not uppers
    else:
        assert set(uppers) == {f"z{n}" for n in range(32)}
        assert all(len(data) == length - 16 and tags(data) == {TAG_CLOBBER} for data in uppers.values())
    assert "za" in dict(switch.vector)  # 1.0.0: ZA clobbered, kept by the caller


def test_a_seed_means_the_same_vector_state() -> None:
    one, two = TrialFactory(current("hvc3"), 48), TrialFactory(current("hvc3"), 48)
    a, b = one.initial(9, 0x40000), two.initial(9, 0x40000)
    assert a.vector == b.vector and a.region == b.region
    assert one.switch(a) == two.switch(b)


def test_vector_lengths_outside_the_architecture_are_refused() -> None:
    for length in (8, 40, 272):
        with pytest.raises(ValueError, match="multiple of 16"):
            TrialFactory(current("hvc3"), length)
