"""The keystone wrapper: it must turn keystone's silent failures into errors."""

import pytest

from tests.support import ROOT
from vtlgen.isa.assembler import AssemblyError, assemble


def test_maps_instructions_to_source_lines() -> None:
    result = assemble(
        "/* c\n */\n\t.global f\nf:\n\thint #34 /* bti */\n\tldp x0, x1, [x0] // c\n\tret\n\t.size f, .-f\n"
    )
    assert result.code.hex() == "5f2403d5000440a9c0035fd6"
    assert result.source_lines == (5, 6, 7)
    assert result.line_of(4) == 6 and result.text_of(8) == "ret"
    assert result.symbols == ("f",)


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("ldp x1, x1, [x0]", "assembled to nothing"),  # Rt == Rt2: keystone emits nothing
        ("ldp x0, x1, [x0], #16", "assembled to nothing"),  # writeback base == data
        (".inst 0xd503201f", "not allowed"),  # keystone: silently nothing
        ("frob x1", "not an A64 instruction"),
        (".section .text", "not allowed"),
        ("#include <linux/linkage.h>", "preprocessor"),
        ("nop ; nop", "one statement"),
    ],
)
def test_silent_keystone_failures_are_errors(source: str, words: str) -> None:
    with pytest.raises(AssemblyError) as caught:
        assemble(f"nop\n{source}\nret\n", "mine.S")
    assert words in str(caught.value)
    assert str(caught.value).startswith("mine.S:2:1: ")


def test_empty_source_is_an_error() -> None:
    with pytest.raises(AssemblyError):
        assemble("/* nothing */\n", "empty.S")


def test_generated_stubs_assemble() -> None:
    stubs = sorted((ROOT / "generated").rglob("*[!x].S"))
    stubs = [p for p in stubs if not p.name.endswith("_linux.S")]
    assert len(stubs) == 2
    for stub in stubs:
        result = assemble(stub.read_text(), str(stub))
        assert len(result.code) == 4 * len(result.source_lines) > 0
