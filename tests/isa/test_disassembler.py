"""Capstone facts the validator relies on: normalised register names and address forms."""

import pytest

from vtlgen.isa.assembler import assemble
from vtlgen.isa.disassembler import decode, normalise


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


# Register effects per the Arm ARM's pseudocode for each instruction; the first group
# are the ones capstone 5 gets wrong and vtlgen corrects.
@pytest.mark.parametrize(
    ("text", "reads", "writes"),
    [
        ("cbz x0, there", {"x0"}, set()),  # capstone: also NZCV
        ("cbnz w0, there", {"x0"}, set()),
        ("cmp x0, x1", {"x0", "x1"}, {"nzcv"}),  # capstone: reads x1 only, writes x0
        ("tst x0, #1", {"x0"}, {"nzcv"}),
        ("cmn w0, #3", {"x0"}, {"nzcv"}),
        ("ubfx x0, x1, #1, #2", {"x1"}, {"x0"}),  # capstone: reads x0 too
        ("sxtw x0, w1", {"x1"}, {"x0"}),
        ("ret", {"x30"}, set()),  # capstone: reads nothing
        ("mrs x9, nzcv", {"nzcv"}, {"x9"}),  # capstone: reads nothing
        ("msr nzcv, x9", {"x9"}, {"nzcv"}),  # capstone: writes nothing
        ("dc zva, x1", {"x1"}, set()),  # capstone: reads nothing, no memory
        ("b.eq there", {"nzcv"}, set()),
        ("csel x0, x1, x2, eq", {"nzcv", "x1", "x2"}, {"x0"}),
        ("adds x0, x1, x2", {"x1", "x2"}, {"nzcv", "x0"}),
        ("movk x0, #1, lsl #16", {"x0"}, {"x0"}),
        ("tbnz x2, #63, there", {"x2"}, set()),
        ("fcmp d0, #0.0", {"q0"}, {"nzcv"}),
    ],
)
def test_register_effects_are_exact(text: str, reads: set[str], writes: set[str]) -> None:
    decoded, _ = decode(assemble(text + "\nthere: nop\n").code)  # targets are labels (stubsource)
    assert decoded.exact and (decoded.reads, decoded.writes) == (reads, writes)


def test_memory_without_a_memory_operand_and_unknown_instructions_are_conservative() -> None:
    zva, crc = decode(assemble("dc zva, x1\ncrc32x w9, w9, x9\n").code)
    assert zva.memory and zva.access is None  # watched by memory hooks
    assert not crc.exact and crc.memory and {"x1", "nzcv", "q0"} <= crc.reads and "x9" in crc.writes
