"""Units of the proof engine (vtlgen/prove/): the p-code semantics on concrete values,
the register containers, the byte-cell memory and the lifter's failures."""

from __future__ import annotations

import pytest
import z3
from pypcode import OpCode

from tests.support import SPEC
from vtlgen.lower.convention import lower
from vtlgen.prove import pcode
from vtlgen.prove import world as w
from vtlgen.prove.lifter import lift
from vtlgen.prove.state import State
from vtlgen.spec.loader import load

PLAN = lower(load(SPEC).spec, "spec/hyperv_vtl.yaml")[0]


def value(term: z3.BitVecRef) -> int:
    return int(z3.simplify(term).as_long())


def bv(n: int, bits: int = 64) -> z3.BitVecRef:
    return z3.BitVecVal(n, bits)


@pytest.mark.parametrize(
    ("op", "a", "b", "expected"),
    [
        (OpCode.INT_CARRY, (1 << 64) - 1, 1, 1),
        (OpCode.INT_CARRY, 5, 7, 0),
        (OpCode.INT_SCARRY, (1 << 63) - 1, 1, 1),  # INT64_MAX + 1 overflows
        (OpCode.INT_SCARRY, (1 << 63) - 1, (1 << 64) - 1, 0),  # INT64_MAX + -1 does not
        (OpCode.INT_SBORROW, 1 << 63, 1, 1),  # INT64_MIN - 1 overflows
        (OpCode.INT_SBORROW, 0, 1, 0),
        (OpCode.INT_SLESS, (1 << 64) - 1, 0, 1),  # -1 < 0
        (OpCode.INT_LESS, (1 << 64) - 1, 0, 0),
        (OpCode.INT_RIGHT, 1 << 63, 64, 0),  # a shift by the width gives 0, as in p-code
        (OpCode.INT_SRIGHT, 1 << 63, 70, (1 << 64) - 1),
    ],
)
def test_binary_operations(op: OpCode, a: int, b: int, expected: int) -> None:
    assert value(pcode.BINARY[op](bv(a), bv(b))) == expected


def test_unary_operations_and_subpiece() -> None:
    assert value(pcode.UNARY[OpCode.POPCOUNT](bv(0xF0F0), 8)) == 8
    assert value(pcode.UNARY[OpCode.LZCOUNT](bv(1 << 60), 8)) == 3
    assert value(pcode.UNARY[OpCode.LZCOUNT](bv(0), 8)) == 64
    assert value(pcode.UNARY[OpCode.INT_SEXT](bv(0x80, 8), 64)) == (1 << 64) - 0x80
    assert value(pcode.subpiece(bv(0x1122334455667788), 2, 16)) == 0x5566
    nan = bv(0x7FF8000000000000)
    assert value(pcode.UNARY[OpCode.FLOAT_NAN](nan, 8)) == 1
    assert value(pcode.BINARY[OpCode.FLOAT_EQUAL](nan, nan)) == 0  # NaN is unordered


def test_partial_register_writes_keep_the_rest() -> None:
    world = w.World(PLAN, 0x10000, 4, w.Addresses(0x5000_0400, 0x7000_FF00, 0x7000_FF40, 0x40000))
    state = State(world.entry_registers(), {}, [], 0)
    state.write_register(w.z_base(3), 8, bv(0xAA))  # d3: the low 64 bits of q3 and z3
    q3 = state.register("q3", world)
    assert value(z3.Extract(63, 0, q3)) == 0xAA
    assert z3.simplify(z3.Extract(127, 64, q3)).eq(z3.Extract(127, 64, z3.BitVec(f"{w.VTL2}q3", 128)))
    assert state.read_register(w.x_base(5), 4, world).eq(z3.Extract(31, 0, z3.BitVec(f"{w.VTL2}x5", 64)))


def test_memory_reads_back_the_stored_term_without_the_solver() -> None:
    world = w.World(PLAN, 0x10000, 4, w.Addresses(0x5000_0400, 0x7000_FF00, 0x7000_FF40, 0x40000))
    state = State(world.entry_registers(), {}, [], 0)
    stored = z3.BitVec("value", 128)
    state.store("ctx", 8, stored)
    assert state.load("ctx", 8, 16, world) is stored
    mixed = state.load("ctx", 4, 8, world)  # half an initial word, half the stored value
    assert z3.simplify(z3.Extract(63, 32, mixed)).eq(z3.simplify(z3.Extract(31, 0, stored)))


def test_lifter_marks_what_sleigh_cannot_decode() -> None:
    (lifted,) = lift(bytes.fromhex("efbeadde"), 0x10000)
    assert lifted.error and not lifted.ops
