"""The A64 exception encodings and SMCCC function-ID bits in vtlgen.isa.encoding, checked
against an independent decoder (capstone) and against IDs the specifications publish."""

from __future__ import annotations

import capstone
import pytest

from vtlgen.isa import encoding


def _capstone_text(word: int) -> str:
    engine = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
    (insn,) = engine.disasm(word.to_bytes(4, "little"), 0)
    return f"{insn.mnemonic} {insn.op_str}"


@pytest.mark.parametrize("kind", ["svc", "hvc", "smc"])
@pytest.mark.parametrize("imm", [0, 1, 3, 0x1234, 0xFFFF])
def test_exception_words_decode_as_capstone_reads_them(kind: str, imm: int) -> None:
    word = encoding.exception_word(kind, imm)
    shown = f"#{imm:#x}" if imm > 9 else f"#{imm}"  # capstone writes small immediates in decimal
    assert _capstone_text(word) == f"{kind} {shown}"
    assert encoding.decode_exception(word) == (kind, imm)
    assert encoding.is_conduit(word) is (kind != "svc")


def test_published_conduit_words() -> None:
    """hvc #0 and smc #0 as the Arm ARM (C6.2) and OpenVMM's hvdef spell them."""
    assert encoding.exception_word("hvc", 0) == 0xD400_0002
    assert encoding.exception_word("smc", 0) == 0xD400_0003
    assert encoding.conduit_patterns() == (0xD400_0002, 0xD400_0003)


@pytest.mark.parametrize(
    "word",
    [
        0xD503_201F,  # nop
        0xD420_0000,  # brk #0: exception generation, but opc = 001
        0xD400_0000,  # LL = 00 is unallocated
        0xD600_0002,  # not the exception-generation class
    ],
)
def test_other_words_are_not_exceptions(word: int) -> None:
    assert encoding.decode_exception(word) is None
    assert not encoding.is_conduit(word)


def test_bad_exception_requests_are_refused() -> None:
    with pytest.raises(ValueError, match="16 bits"):
        encoding.exception_word("hvc", 0x10000)
    with pytest.raises(ValueError, match="not an exception"):
        encoding.exception_word("brk", 0)


def test_function_ids_published_by_psci() -> None:
    """PSCI_VERSION is 0x84000000 and CPU_ON (SMC64) 0xC4000003 (Arm DEN0022, "Function IDs")."""
    assert encoding.encode_function_id(fast=True, smc64=False, owner=4, number=0) == 0x8400_0000
    assert encoding.encode_function_id(fast=True, smc64=True, owner=4, number=3) == 0xC400_0003
    fields = encoding.decode_function_id(0xC400_0003)
    assert fields == encoding.FunctionIdFields(fast=True, smc64=True, owner=4, reserved=0, sve_hint=False, number=3)


@pytest.mark.parametrize("word", [0, 0xFFFF_FFFF, 0x8601_0000, 0x4600_0001, 0x00FE_0000])
def test_function_id_fields_round_trip(word: int) -> None:
    fields = encoding.decode_function_id(word)
    assert (
        encoding.encode_function_id(
            fast=fields.fast,
            smc64=fields.smc64,
            owner=fields.owner,
            number=fields.number,
            sve_hint=fields.sve_hint,
            reserved=fields.reserved,
        )
        == word
    )


def test_function_id_fields_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="out of range"):
        encoding.encode_function_id(fast=True, smc64=False, owner=64, number=0)
