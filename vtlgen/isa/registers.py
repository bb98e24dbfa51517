"""The arm64 register file as data: names, widths, groups and AAPCS64 roles.

Nothing here knows about any hypervisor; specs classify these registers.
Sources: Arm ARM (register names), AAPCS64 (`aapcs64.rst`, "General-purpose
Registers" and "SIMD and Floating-Point Registers").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class Kind(str, Enum):
    """What sort of architectural state a register is."""

    GPR = "gpr"
    SP = "sp"
    VECTOR = "vector"  # the low 128 bits of Zn, i.e. Qn / Vn
    SVE = "sve"
    SME = "sme"
    FP_CONTROL = "fp-control"
    FLAGS = "flags"
    SYSREG = "sysreg"


@dataclass(frozen=True)
class Register:
    name: str
    kind: Kind
    bits: int
    index: int | None = None  # n in xN / qN / pN
    description: str = ""


def _gprs() -> list[Register]:
    return [Register(f"x{n}", Kind.GPR, 64, n) for n in range(31)]


def _vectors() -> list[Register]:
    return [Register(f"q{n}", Kind.VECTOR, 128, n) for n in range(32)]


# Every architectural group a spec must classify (issue 2: "a class for every
# architectural register group"). Named system registers come on top, declared
# by the spec itself.
ARCHITECTURAL: tuple[Register, ...] = (
    *_gprs(),
    Register("sp", Kind.SP, 64, description="stack pointer of the current EL"),
    *_vectors(),
    Register("z_upper", Kind.SVE, 2048 - 128, description="SVE Z0-Z31 bits above 127"),
    *[Register(f"p{n}", Kind.SVE, 256, n, "SVE predicate") for n in range(16)],
    Register("ffr", Kind.SVE, 256, description="SVE first-fault register"),
    Register("svcr.sm", Kind.SME, 1, description="SME streaming mode"),
    Register("svcr.za", Kind.SME, 1, description="SME ZA storage enable"),
    Register("za", Kind.SME, 0, description="SME ZA array (size depends on SVL)"),
    Register("zt0", Kind.SME, 512, description="SME2 lookup table register"),
    Register("fpcr", Kind.FP_CONTROL, 64),
    Register("fpsr", Kind.FP_CONTROL, 64),
    Register("nzcv", Kind.FLAGS, 4),
)

BY_NAME: dict[str, Register] = {r.name: r for r in ARCHITECTURAL}

# What a stub can move between a register and the context with loads and stores: the GPRs and
# Q registers (LDR/STR, LDP/STP), Z/P/FFR (SVE LDR/STR) and ZA (SME LDR/STR ZA[...]); Arm ARM,
# "A64 Instruction Set Architecture". SP, FPCR, FPSR, NZCV, SVCR and ZT0 are no load/store
# operands (they need MOV SP or MRS/MSR), so a context slot cannot be their home.
_MOVED_BY_LOADS = frozenset({Kind.GPR, Kind.VECTOR, Kind.SVE})


def moved_by_loads(name: str) -> bool:
    register = BY_NAME.get(name)
    return register is not None and (register.kind in _MOVED_BY_LOADS or name == "za")


# AAPCS64 roles (ARM-software/abi-aa aapcs64.rst, "General-purpose Registers").
CALLEE_SAVED_GPRS: tuple[str, ...] = tuple(f"x{n}" for n in range(19, 29))
# x0-x15 (arguments, results, temporaries) and x16/x17 (IP0/IP1): a callee may change them.
CALLER_SAVED_GPRS: tuple[str, ...] = tuple(f"x{n}" for n in range(18))
FRAME_POINTER = "x29"
LINK_REGISTER = "x30"
PLATFORM_REGISTER = "x18"
STACK_POINTER = "sp"
# A frame record (AAPCS64 "The Frame Pointer"): x29 points at it, x30 is the return address in it,
# and it lives on the stack: what a stub must give back as found, beside its kept registers.
FRAME_REGISTERS: tuple[str, ...] = (FRAME_POINTER, LINK_REGISTER, STACK_POINTER)
# Only the low 64 bits of v8-v15 are callee-saved (AAPCS64 "SIMD and FP").
CALLEE_SAVED_D: tuple[str, ...] = tuple(f"d{n}" for n in range(8, 16))
CALLEE_SAVED_D_AS_Q: tuple[str, ...] = tuple(f"q{n}" for n in range(8, 16))
# What the caller of the stub sees kept at its return: the callee-saved GPRs, the frame pointer,
# SP and the callee-saved low halves of v8-v15 (read as q, whose upper halves may change)
# (AAPCS64 "General-purpose Registers", "SIMD and Floating-Point Registers").
CALLER_SAVED_VIEW: tuple[str, ...] = (*CALLEE_SAVED_GPRS, FRAME_POINTER, STACK_POINTER, *CALLEE_SAVED_D_AS_Q)
# The state every validation backend and the disassembler's effects model: the GPRs, SP, the
# 128-bit vector registers and NZCV. SVE/SME state (VL_SCALED_STATE) is modelled separately.
MODELLED: tuple[str, ...] = (*(f"x{n}" for n in range(31)), STACK_POINTER, *(f"q{n}" for n in range(32)), "nzcv")

# SMCCC v1.2+ (DEN0028, "Argument passing"): arguments in x1-x17, results in x0-x17.
SMCCC_RESULT_GPRS: tuple[str, ...] = tuple(f"x{n}" for n in range(18))
# The SVE state beyond the SIMD/FP registers: Z bits above 127, P0-P15, FFR.
SVE_STATE: tuple[str, ...] = ("z_upper", *(f"p{n}" for n in range(16)), "ffr")
# State whose size scales with the vector length: Z bits above 127 (Z is up to 2048 bits),
# P0-P15 and FFR (VL / 8 bytes each), ZA (SVL x SVL bytes). Q is not: it is 128 bits.
VL_SCALED_STATE: tuple[str, ...] = (*SVE_STATE, "za")
# SMCCC (DEN0028, "Register use in AArch64 SMC and HVC calls"): the callee preserves
# x18-x30, SP_EL0, SP_ELx and the SIMD/FP registers, and from v1.2 all SVE state as well.
# v1.3 lets the caller set the SVE hint (function ID bit 16) to say it has no live SVE
# state, and then the callee need not preserve SVE_STATE (Linux commit cfa7ff959a78,
# "arm64: smccc: Support SMCCC v1.3 SVE register saving hint"). vtlgen never sets the hint.
SMCCC_PRESERVED: tuple[str, ...] = (
    *(f"x{n}" for n in range(18, 31)),
    "sp",
    *(f"q{n}" for n in range(32)),
    *SVE_STATE,
)


def smccc_preserved(sve_hint: bool) -> frozenset[str]:
    """What an SMCCC callee preserves, given the SVE hint of the function ID."""
    preserved = frozenset(SMCCC_PRESERVED)
    return preserved - frozenset(SVE_STATE) if sve_hint else preserved


def _key_pattern() -> str:
    """A regular expression for a spec's `registers` key: one register or a range `x19-x28`
    (the second prefix may be left out: `x19-28`), built from ARCHITECTURAL so it never
    disagrees with `expand`. `vtlgen schema` puts it in the JSON Schema, so an editor marks
    `fspr` as it is typed; `expand` still catches a range that runs backwards."""
    families: dict[str, list[int]] = {}
    singles: list[str] = []
    for register in ARCHITECTURAL:
        if register.index is None:
            singles.append(re.escape(register.name))
        else:
            families.setdefault(register.name.rstrip("0123456789"), []).append(register.index)
    alternatives = []
    for prefix, indices in families.items():
        number = "(?:" + "|".join(str(n) for n in sorted(indices, reverse=True)) + ")"  # 30 before 3
        alternatives.append(f"{prefix}{number}(?:-(?:{prefix})?{number})?")
    return "^(?:" + "|".join([*alternatives, *singles]) + ")$"


REGISTER_KEY_PATTERN = _key_pattern()

_SYSREG_NAME = re.compile(r"^[A-Z][A-Z0-9_]*_EL[0-3]$")
_RANGE = re.compile(r"^([a-z]+)(\d+)-\1?(\d+)$")


class RegisterNameError(ValueError):
    """A register or register range that does not name arm64 state."""


def is_sysreg_name(name: str) -> bool:
    return bool(_SYSREG_NAME.fullmatch(name))  # `$` would also accept a trailing newline


def expand(group: str) -> list[str]:
    """Expand `x0-x17`, `q0-q31`, `p0-p15` or a single name to register names."""
    text = group  # exactly as written: str.strip() would also eat \x1c-\x1f, \x85 and U+2029
    match = _RANGE.fullmatch(text)
    if match:
        prefix, first, last = match.group(1), int(match.group(2)), int(match.group(3))
        if first > last:
            raise RegisterNameError(f"range {text!r} runs backwards")
        names = [f"{prefix}{n}" for n in range(first, last + 1)]
    else:
        names = [text]
    for name in names:
        if name not in BY_NAME:
            raise RegisterNameError(
                f"unknown register {name!r}; expected x0-x30, sp, q0-q31, z_upper, "
                "p0-p15, ffr, svcr.sm, svcr.za, za, zt0, fpcr, fpsr or nzcv"
            )
    return names


def compress(names: list[str]) -> str:
    """`x0, x1, x2, q5` -> `x0-x2, q5`, for messages."""
    runs: list[list[str]] = []
    for name in names:
        if runs and _follows(runs[-1][-1], name):
            runs[-1].append(name)
        else:
            runs.append([name])
    return ", ".join(run[0] if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs)


def _follows(before: str, after: str) -> bool:
    first, second = BY_NAME.get(before), BY_NAME.get(after)
    if first is None or second is None or first.index is None:
        return False
    return second.index == first.index + 1 and first.name[0] == second.name[0]


def number(name: str) -> int:
    """The n of xN / qN / dN."""
    return int(name[1:])
