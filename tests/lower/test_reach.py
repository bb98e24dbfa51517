"""Reach: pairs along runs of adjacent slots, and the fewest base windows that reach them all."""

from __future__ import annotations

import pytest

from vtlgen.lower import a64, reach
from vtlgen.plan import Slot


def _slot(name: str, offset: int, size: int = 8) -> Slot:
    return Slot(name, "x", offset // size, offset, size, f"M_{name.upper()}")


def _gprs(first_offset: int, count: int) -> list[Slot]:
    return [_slot(f"x{n}", first_offset + 8 * n) for n in range(count)]


def test_adjacent_slots_pair_and_gaps_do_not() -> None:
    moves = reach.transfers([_slot("x1", 8), _slot("x2", 16), _slot("x4", 32), _slot("x6", 48), _slot("x7", 56)])
    assert [sorted(t.registers) for t in moves] == [["x1", "x2"], ["x4"], ["x6", "x7"]]


@pytest.mark.parametrize("length", [1, 2, 3, 7, 18])
def test_a_run_of_n_slots_takes_ceil_n_over_2_transfers(length: int) -> None:
    moves = reach.transfers(_gprs(0, length))
    assert len(moves) == -(-length // 2)
    assert sum(len(t.slots) == 1 for t in moves) == length % 2


def test_slots_of_different_sizes_never_pair() -> None:
    moves = reach.transfers([_slot("x1", 0), _slot("q0", 8, 16)])
    assert [len(t.slots) for t in moves] == [1, 1]


def test_a_context_within_pair_reach_keeps_bias_zero() -> None:
    (window,) = reach.windows(reach.transfers(_gprs(0, 31)))
    assert window.bias == 0 and len(window.transfers) == 16


def test_slots_beyond_pair_reach_get_one_biased_window_not_singles() -> None:
    (window,) = reach.windows(reach.transfers(_gprs(512, 31)))
    assert window.bias > 0 and all(len(t.slots) == 2 for t in window.transfers[:-1])
    for move in window.transfers:
        low, high = reach.bias_range(move)
        assert low <= window.bias <= high


def test_two_windows_when_no_single_base_reaches_both_ends() -> None:
    slots = [*_gprs(0, 2), _slot("q0", 2032 - 16, 16), _slot("q1", 2032, 16)]
    found = reach.windows(reach.transfers(slots))
    # q0 at 2016 needs a base of at least 2016 - 63*16 = 1008; x0 at 0 needs one of at most 512.
    assert [w.bias for w in found] == [0, 1008]
    assert reach.walk_cost([("x30", w) for w in found], {"x30": 0}) == 1


def test_a_free_base_at_zero_is_preferred_when_it_costs_no_extra_window() -> None:
    # x0/x1 need a base of at most 512; x2/x3 at 520 one of at least 16; q0/q1 at 1600 one of
    # at least 592. The greedy cover is {16, 592}; {0, 592} is as small and starts at ctx itself.
    slots = [*_gprs(0, 2), _slot("x2", 520), _slot("x3", 528), _slot("q0", 1600, 16), _slot("q1", 1616, 16)]
    moves = reach.transfers(slots)
    assert [w.bias for w in reach.windows(moves)] == [16, 592]
    assert [w.bias for w in reach.windows(moves, zero_is_free=True)] == [0, 592]


def test_misaligned_slots_are_out_of_reach() -> None:
    with pytest.raises(a64.OutOfRange, match="out of reach"):
        reach.windows(reach.transfers([_slot("q0", 8, 16)]))


def test_slots_beyond_add_reach_are_out_of_reach() -> None:
    far = 1 << 25  # beyond a 24-bit ADD/SUB immediate (12 bits, optionally shifted by 12)
    with pytest.raises(a64.OutOfRange, match="out of reach of ADD"):
        reach.windows(reach.transfers([_slot("x0", far), _slot("x1", far + 8)]))


def test_the_base_registers_own_transfer_goes_last() -> None:
    found = reach.windows(reach.transfers(_gprs(0, 4)))
    (window,) = reach.visiting_order(found, "x0")
    assert "x0" in window.transfers[-1].registers
