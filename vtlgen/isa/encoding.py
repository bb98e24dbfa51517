"""A64 encodings and immediate limits, and the SMCCC function-ID bits, as data.

One home for each bit pattern vtlgen writes or reads: the exception-generating instructions
(the conduit `hvc`/`smc`, and `svc`), the condition codes of `b.<cond>`, the load/store and
ADD/SUB immediate ranges, and the fields of an SMCCC function ID.
"""

from __future__ import annotations

from dataclasses import dataclass

# Exception generation (Arm ARM C6.2 "SVC", "HVC", "SMC"): 0xD4000000 | opc << 21 | imm16 << 5
# | LL, with opc = 0 and LL = 1 (svc), 2 (hvc) or 3 (smc). The mask keeps everything but imm16.
_EXCEPTION_BASE = 0xD4000000
EXCEPTION_MASK = 0xFFE0001F
_IMM16_SHIFT = 5
IMM16_MAX = 0xFFFF
_EXCEPTION_LL: dict[str, int] = {"svc": 1, "hvc": 2, "smc": 3}
_EXCEPTION_KIND = {low: kind for kind, low in _EXCEPTION_LL.items()}
# The instructions a stub leaves through to the hypervisor or the secure monitor.
CONDUITS = ("hvc", "smc")


def exception_word(kind: str, imm: int) -> int:
    """The encoding of `hvc #imm`, `smc #imm` or `svc #imm`."""
    if kind not in _EXCEPTION_LL:
        raise ValueError(f"{kind!r} is not an exception-generating instruction (svc, hvc, smc)")
    if not 0 <= imm <= IMM16_MAX:
        raise ValueError(f"{kind} #{imm}: the immediate is 16 bits")
    return _EXCEPTION_BASE | imm << _IMM16_SHIFT | _EXCEPTION_LL[kind]


def decode_exception(word: int) -> tuple[str, int] | None:
    """("hvc", imm) for `hvc #imm` and likewise for smc and svc; None for any other word."""
    kind = _EXCEPTION_KIND.get(word & 0x3)
    if kind is None or word & EXCEPTION_MASK != exception_word(kind, 0):
        return None
    return kind, word >> _IMM16_SHIFT & IMM16_MAX


def conduit_patterns() -> tuple[int, ...]:
    """`word & EXCEPTION_MASK` of a conduit, whatever its immediate: hvc and smc with imm 0."""
    return tuple(exception_word(kind, 0) for kind in CONDUITS)


def is_conduit(word: int) -> bool:
    """`hvc #imm` or `smc #imm`, whatever the immediate."""
    return word & EXCEPTION_MASK in conduit_patterns()


# The condition codes of `b.<cond>` (Arm ARM C1.2.4, "Condition code"), with the aliases
# hs/lo for cs/cc.
CONDITION_CODES = (
    "eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al", "nv",
)  # fmt: skip

# LDP/STP take a signed 7-bit immediate scaled by the access size; LDR/STR an unsigned
# 12-bit one; ADD/SUB an unsigned 12-bit one, optionally shifted left by 12 (Arm ARM,
# C6.2 "LDP", "LDR (immediate)", "ADD (immediate)").
PAIR_MIN = -64
PAIR_MAX = 63
SINGLE_LIMIT = 4095
ADD_LIMIT = 0xFFF


# SMCCC function identifier (Arm DEN0028, "Function Identifiers"): bit 31 fast call, bit 30
# SMC64, bits 29:24 the owning entity, 23:17 must be zero, bit 16 the SVE live-state hint
# (v1.3), bits 15:0 the function number.
_FAST_BIT = 31
_SMC64_BIT = 30
_OWNER_SHIFT, OWNER_MAX = 24, 0x3F
_RESERVED_SHIFT, RESERVED_MAX = 17, 0x7F
_SVE_HINT_BIT = 16
FUNCTION_NUMBER_MAX = 0xFFFF


@dataclass(frozen=True)
class FunctionIdFields:
    """The fields of an SMCCC function ID, as bits."""

    fast: bool
    smc64: bool
    owner: int
    reserved: int
    sve_hint: bool
    number: int


def encode_function_id(
    *, fast: bool, smc64: bool, owner: int, number: int, sve_hint: bool = False, reserved: int = 0
) -> int:
    """The 32-bit function ID from its fields."""
    if not 0 <= owner <= OWNER_MAX or not 0 <= reserved <= RESERVED_MAX or not 0 <= number <= FUNCTION_NUMBER_MAX:
        raise ValueError(f"function ID field out of range: owner {owner}, reserved {reserved}, number {number}")
    return (
        int(fast) << _FAST_BIT
        | int(smc64) << _SMC64_BIT
        | owner << _OWNER_SHIFT
        | reserved << _RESERVED_SHIFT
        | int(sve_hint) << _SVE_HINT_BIT
        | number
    )


def decode_function_id(word: int) -> FunctionIdFields:
    """The fields of a 32-bit function ID."""
    return FunctionIdFields(
        fast=bool(word >> _FAST_BIT & 1),
        smc64=bool(word >> _SMC64_BIT & 1),
        owner=word >> _OWNER_SHIFT & OWNER_MAX,
        reserved=word >> _RESERVED_SHIFT & RESERVED_MAX,
        sve_hint=bool(word >> _SVE_HINT_BIT & 1),
        number=word & FUNCTION_NUMBER_MAX,
    )
