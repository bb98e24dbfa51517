"""The SVE and SME vector lengths the architecture allows.

Arm ARM ("SVE vector length", ZCR_ELx.LEN): an implementation's VL is any multiple of 128 bits
up to 2048, i.e. 16 to 256 bytes in steps of 16. SME's streaming vector length SVL (SMCR_ELx.LEN,
"Streaming SVE vector length") is a power of two in the same range. Kernel style counts VL in
quadwords, vq = VL / 16 (arch/arm64/include/uapi/asm/sigcontext.h).
"""

from __future__ import annotations

VL_GRANULE = 16  # bytes: 128 bits, one quadword
MIN_VECTOR_LENGTH = VL_GRANULE
MAX_VECTOR_LENGTH = 256  # bytes: 2048 bits
ARCHITECTURAL_VECTOR_LENGTHS: tuple[int, ...] = tuple(range(MIN_VECTOR_LENGTH, MAX_VECTOR_LENGTH + 1, VL_GRANULE))
STREAMING_VECTOR_LENGTHS: tuple[int, ...] = tuple(vl for vl in ARCHITECTURAL_VECTOR_LENGTHS if vl & (vl - 1) == 0)


def is_architectural(vl: int) -> bool:
    """Whether `vl` bytes is a vector length an SVE implementation may have."""
    return vl in ARCHITECTURAL_VECTOR_LENGTHS


def is_streaming_architectural(svl: int) -> bool:
    """Whether `svl` bytes is a streaming vector length an SME implementation may have."""
    return svl in STREAMING_VECTOR_LENGTHS


def vq(vl: int) -> int:
    """Quadwords in `vl` bytes, as the kernel's `sve_vq_from_vl`."""
    return vl // VL_GRANULE
