"""Class 2: keystone runs in a forked child under a time and memory limit."""

from __future__ import annotations

import pytest

from vtlgen.guard import sandbox
from vtlgen.isa import assembler
from vtlgen.isa.assembler import AssemblyError, assemble
from vtlgen.isa.stubsource import CODE_REGION, INSTRUCTION_SIZE, MAX_INSTRUCTIONS, MAX_TEXT


def _spin(*_: object) -> tuple[bytes, None, str]:
    while True:
        pass


def _hog(*_: object) -> bytes:
    return b"x" * (8 << 30)


def test_a_keystone_that_never_returns_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(assembler, "_keystone", _spin)
    monkeypatch.setattr(assembler, "ASSEMBLY_SECONDS", 1.0)
    assemble.cache_clear()
    with pytest.raises(AssemblyError, match=r"^spin\.S:1:1: keystone gave up: did not finish within 1 s"):
        assemble("nop\nret\n", "spin.S")
    assemble.cache_clear()


def test_a_limited_call_that_allocates_without_end_is_stopped() -> None:
    with pytest.raises(sandbox.LimitExceeded, match="MemoryError"):
        sandbox.call_limited(_hog, seconds=20, memory=256 << 20)


def test_a_limited_call_returns_its_value() -> None:
    assert sandbox.call_limited(sum, [1, 2, 3], seconds=20) == 6


@pytest.mark.parametrize("count", [MAX_INSTRUCTIONS + 1, 20_000, 100_000])
def test_a_stub_longer_than_the_code_region_is_a_located_error(count: int) -> None:
    assert MAX_INSTRUCTIONS * INSTRUCTION_SIZE == CODE_REGION
    with pytest.raises(
        AssemblyError, match=rf"^big\.S:{MAX_INSTRUCTIONS + 1}:1: more than {MAX_INSTRUCTIONS} instructions"
    ):
        assemble("nop\n" * count, "big.S")


def test_stub_text_beyond_the_read_limit_is_refused_before_parsing() -> None:
    with pytest.raises(AssemblyError, match=r"^huge\.S:1:1: stub text is \d+ bytes; at most"):
        assemble("nop // " + "x" * MAX_TEXT + "\n", "huge.S")
