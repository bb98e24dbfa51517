"""A64 builders: pairing adjacent slots, immediates in range, MOVZ/MOVK chunks."""

import pytest

from vtlgen import a64
from vtlgen.assembler import assemble
from vtlgen.plan import Slot


def _slot(name: str, offset: int, size: int = 8) -> Slot:
    return Slot(name, "x", offset // size, offset, size, f"M_{name.upper()}")


def test_adjacent_slots_pair_and_gaps_do_not() -> None:
    transfers = a64.pair_up([_slot("x1", 8), _slot("x2", 16), _slot("x4", 32), _slot("x6", 48), _slot("x7", 56)])
    assert [sorted(t.registers) for t in transfers] == [["x1", "x2"], ["x4"], ["x6", "x7"]]


def test_offsets_beyond_ldp_range_fall_back_to_single_transfers() -> None:
    far = 8 * (a64.PAIR_LIMIT + 1)
    transfers = a64.pair_up([_slot("x1", far), _slot("x2", far + 8)])
    assert [len(t.slots) for t in transfers] == [1, 1]
    with pytest.raises(a64.OutOfRange):
        a64.pair_up([_slot("x1", 8 * (a64.SINGLE_LIMIT + 1))])


def test_both_operand_forms() -> None:
    (pair,) = a64.pair_up([_slot("x2", 16), _slot("x3", 24)])
    load = a64.context_transfer("ld", pair, "x0", {})
    assert (load.mnemonic, load.literal, load.symbolic) == ("ldp", "x2, x3, [x0, #16]", "x2, x3, [x0, #M_X2]")
    store = a64.context_transfer("st", pair, "x0", {"x2": "x9"})
    assert store.literal == "x9, x3, [x0, #16]"


@pytest.mark.parametrize(
    ("value", "width", "count"), [(0, 64, 1), (0x12, 64, 1), (0x46000001, 32, 2), (0xFFFF_0000_0000_FFFF, 64, 2)]
)
def test_materialize_is_minimal_and_assembles(value: int, width: int, count: int) -> None:
    moves = a64.materialize("x5", value, width)
    assert len(moves) == count == a64.materialize_cost(value, width)
    code = assemble("\n".join(m.text for m in moves) + "\n").code
    assert len(code) == 4 * count
