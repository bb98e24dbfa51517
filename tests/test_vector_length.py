"""The architectural vector lengths (Arm ARM, ZCR_ELx.LEN and SMCR_ELx.LEN)."""

from __future__ import annotations

import pytest

from vtlgen.isa import vector_length


def test_sve_lengths_are_the_multiples_of_128_bits_up_to_2048() -> None:
    assert vector_length.ARCHITECTURAL_VECTOR_LENGTHS[0] == 16
    assert vector_length.ARCHITECTURAL_VECTOR_LENGTHS[-1] == 256
    assert len(vector_length.ARCHITECTURAL_VECTOR_LENGTHS) == 16


@pytest.mark.parametrize("vl", [16, 48, 64, 144, 256])
def test_architectural_lengths_are_accepted(vl: int) -> None:
    assert vector_length.is_architectural(vl)


@pytest.mark.parametrize("vl", [0, -16, 8, 24, 272, 512])
def test_other_lengths_are_refused(vl: int) -> None:
    assert not vector_length.is_architectural(vl)


def test_streaming_lengths_are_powers_of_two() -> None:
    assert vector_length.STREAMING_VECTOR_LENGTHS == (16, 32, 64, 128, 256)
    assert vector_length.is_streaming_architectural(128)
    assert not vector_length.is_streaming_architectural(48)


def test_vq_counts_quadwords() -> None:
    assert vector_length.vq(16) == 1
    assert vector_length.vq(256) == 16
