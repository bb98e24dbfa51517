"""A statement keystone refuses reads as what is wrong and what is expected: a corpus per kind
of refusal (an immediate no single mov builds, an add/sub immediate over 12 bits, a load/store
offset out of range, a register that does not exist, an unknown mnemonic), through `assemble`
as `validate --stub` and `prove --stub` call it, and never "Unknown error"."""

from __future__ import annotations

import re

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from vtlgen.isa.assembler import AssemblyError, assemble
from vtlgen.isa.assembler_messages import movz_movk

CORPUS = [
    ("mov w0, #0x46000001", "0x46000001 is not a 16-bit immediate"),
    ("mov x3, #0x12345678", "use movz/movk"),
    ("movz w0, #0x46000001", "movz takes 0..0xffff"),
    ("movk x1, #0x10000, lsl #16", "movk takes 0..0xffff"),
    ("add x0, x1, #5000", "12-bit immediate: expected 0..0xfff"),
    ("sub sp, sp, #4097", "12-bit immediate"),
    ("cmp x0, #9999", "12-bit immediate"),
    ("ldr x0, [x1, #40000]", "expected a multiple of 8 in 0..32760"),
    ("str w0, [x1, #20000]", "expected a multiple of 4 in 0..16380"),
    ("stp x0, x1, [sp, #-1024]!", "expected a multiple of 8 in -512..504"),
    ("ldp q0, q1, [x0, #1024]", "expected a multiple of 16 in -1024..1008"),
    ("mov x0, x99", "x99 is not a register: expected x0-x30"),
    ("add w1, w40, #1", "w40 is not a register"),
]


def refused(statement: str) -> str:
    with pytest.raises(AssemblyError) as caught:
        assemble(f"    {statement}\n    ret\n", "stub.S")
    message = str(caught.value)
    assert message.startswith("stub.S:1:"), message
    assert "Unknown error" not in message, message
    return message


@pytest.mark.parametrize(("statement", "words"), CORPUS, ids=[c[0] for c in CORPUS])
def test_each_refusal_says_what_is_expected(statement: str, words: str) -> None:
    assert words in refused(statement)


def value_of(sequence: str) -> int:
    value = 0
    for half, shift in re.findall(r"#(0x[0-9a-f]+)(?:, lsl #(\d+))?", sequence):
        value |= int(half, 16) << int(shift or 0)
    return value


@settings(max_examples=40, deadline=None, phases=[Phase.explicit, Phase.generate])
@given(st.sampled_from(["w0", "x5"]), st.integers(min_value=0x10001, max_value=(1 << 32) - 1))
def test_the_suggested_movz_movk_builds_the_value(register: str, value: int) -> None:
    """Whatever immediate a mov cannot take, the sequence the message gives assembles and builds it."""
    statement = f"mov {register}, #{value:#x}"
    try:
        assemble(f"    {statement}\n    ret\n", "stub.S")
        return  # keystone encodes it (a movn or logical-immediate pattern): nothing to explain
    except AssemblyError as error:
        message = str(error)
    suggested = message.split("e.g. `", 1)[1].rstrip("`")
    assert value_of(suggested) == value
    code = assemble("".join(f"    {line.strip()}\n" for line in suggested.split(";")) + "    ret\n", "s.S").code
    assert len(code) == 4 * (suggested.count(";") + 2)


def test_the_sequence_skips_zero_halves() -> None:
    assert movz_movk("x0", 0x0000_1234_0000_0000) == ["movz x0, #0x1234, lsl #32"]
    assert movz_movk("w0", 0) == ["movz w0, #0x0"]
