"""A64 builders: pairing adjacent slots, immediates in range, MOVZ/MOVK chunks."""

import pytest

from vtlgen.isa.assembler import assemble
from vtlgen.lower import a64
from vtlgen.plan import Slot


def _slot(name: str, offset: int, size: int = 8) -> Slot:
    return Slot(name, "x", offset // size, offset, size, f"M_{name.upper()}")


def test_both_operand_forms() -> None:
    pair = a64.Transfer((_slot("x2", 16), _slot("x3", 24)))
    load = a64.context_transfer("ld", pair, "x0", {})
    assert (load.mnemonic, load.literal, load.symbolic) == ("ldp", "x2, x3, [x0, #16]", "x2, x3, [x0, #M_X2]")
    store = a64.context_transfer("st", pair, "x0", {"x2": "x9"})
    assert store.literal == "x9, x3, [x0, #16]"


def test_a_biased_base_shifts_both_operand_forms() -> None:
    pair = a64.Transfer((_slot("x2", 528), _slot("x3", 536)))
    load = a64.context_transfer("ld", pair, "x30", {}, bias=512)
    assert (load.literal, load.symbolic) == ("x2, x3, [x30, #16]", "x2, x3, [x30, #(M_X2 - 512)]")


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (0, []),
        (512, ["add x30, x30, #512"]),
        (-1024, ["sub x30, x30, #1024"]),
        (0x3000, ["add x30, x30, #3, lsl #12"]),
        (0x1010, ["add x30, x30, #1, lsl #12", "add x30, x30, #16"]),
    ],
)
def test_adjust_uses_the_fewest_add_sub_immediates(delta: int, expected: list[str]) -> None:
    moves = a64.adjust("x30", "x30", delta, "")
    assert [m.text for m in moves] == expected and a64.adjust_cost(delta) == len(expected)
    if moves:
        assert len(assemble("\n".join(m.text for m in moves) + "\n").code) == 4 * len(moves)


def test_adjust_between_registers_is_a_move_or_an_add() -> None:
    assert [m.text for m in a64.adjust("x30", "x0", 0, "")] == ["mov x30, x0"]
    assert [m.text for m in a64.adjust("x30", "x0", 256, "")] == ["add x30, x0, #256"]
    assert a64.adjust_cost(1 << 24) is None
    with pytest.raises(a64.OutOfRange):
        a64.adjust("x30", "x0", 1 << 24, "")


@pytest.mark.parametrize(
    ("value", "width", "count"), [(0, 64, 1), (0x12, 64, 1), (0x46000001, 32, 2), (0xFFFF_0000_0000_FFFF, 64, 2)]
)
def test_materialize_is_minimal_and_assembles(value: int, width: int, count: int) -> None:
    moves = a64.materialize("x5", value, width)
    assert len(moves) == count == a64.materialize_cost(value, width)
    code = assemble("\n".join(m.text for m in moves) + "\n").code
    assert len(code) == 4 * count
