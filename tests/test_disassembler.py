"""Capstone facts the validator relies on: normalised register names and address forms."""

import pytest

from vtlgen.assembler import assemble
from vtlgen.disassembler import decode, normalise


@pytest.mark.parametrize(
    ("name", "expected"),
    [("fp", "x29"), ("lr", "x30"), ("w5", "x5"), ("d8", "q8"), ("s3", "q3"), ("v7", "q7"), ("xzr", None), ("sp", "sp")],
)
def test_names_are_the_specs(name: str, expected: str | None) -> None:
    assert normalise(name) == expected


def test_access_forms() -> None:
    code = assemble(
        "stp x29, x30, [sp, #-176]!\nldp x29, x30, [sp], #176\nldp q0, q1, [x0, #256]\n"
        "strb w1, [x2, x3]\nldr x1, [x2, w3, sxtw]\nmov x1, x2\n"
    ).code
    push, pop, vectors, byte, extended, move = decode(code)
    assert push.access and push.access.write and push.access.size == 16 and push.pre_index
    assert pop.access and pop.access.post_index and not pop.access.write
    assert pop.writes >= {"x29", "x30", "sp"}
    assert vectors.access and vectors.access.size == 32 and vectors.access.displacement == 256
    assert byte.access and byte.access.size == 1 and byte.access.index == "x3"
    assert extended.memory and extended.access is None  # left to the memory hooks
    assert not move.memory and move.reads == {"x2"} and move.writes == {"x1"}
