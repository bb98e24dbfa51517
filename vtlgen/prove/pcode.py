"""The allow-list of p-code operations and their meaning over z3 bit-vectors.

P-code (Ghidra's "P-Code Reference Manual") treats a boolean as a one-byte 0 or 1, and
a shift by at least the width as 0 (or the sign, for an arithmetic shift), as z3 does.
Floating-point compares use z3's IEEE 754 theory on the register bits. Operations not
listed here make the proof UNPROVEN.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import z3
from pypcode import OpCode

Term: TypeAlias = Any  # a z3 BitVecRef (z3 ships no type information)


def _bool(condition: z3.BoolRef) -> Term:
    return z3.If(condition, z3.BitVecVal(1, 8), z3.BitVecVal(0, 8))


def _fit(value: Term, bits: int) -> Term:
    """A shift amount at the width of the shifted value."""
    if value.size() == bits:
        return value
    if value.size() < bits:
        return z3.ZeroExt(bits - value.size(), value)
    high = z3.Extract(value.size() - 1, bits, value)
    return z3.If(high == 0, z3.Extract(bits - 1, 0, value), z3.BitVecVal((1 << bits) - 1, bits))


def _sort(bits: int) -> z3.FPSortRef:
    sorts = {16: z3.FloatHalf(), 32: z3.Float32(), 64: z3.Float64()}
    if bits not in sorts:
        raise KeyError(bits)
    return sorts[bits]


def _float(value: Term) -> z3.FPRef:
    return z3.fpBVToFP(value, _sort(value.size()))


def _int2float(value: Term, bits: int) -> Term:
    """INT2FLOAT (e.g. `fcmp d2, #0.0` converts the immediate 0): a signed integer, rounded
    to nearest even as FPCR's default rounding mode does (Arm ARM "FPCR.RMode")."""
    return z3.fpToIEEEBV(z3.fpSignedToFP(z3.RNE(), value, _sort(bits)))


def _scarry(a: Term, b: Term) -> Term:
    total = a + b
    top = a.size() - 1
    return _bool(z3.And(z3.Extract(top, top, a) == z3.Extract(top, top, b),
                        z3.Extract(top, top, total) != z3.Extract(top, top, a)))  # fmt: skip


def _sborrow(a: Term, b: Term) -> Term:
    difference = a - b
    top = a.size() - 1
    return _bool(z3.And(z3.Extract(top, top, a) != z3.Extract(top, top, b),
                        z3.Extract(top, top, difference) != z3.Extract(top, top, a)))  # fmt: skip


def _popcount(value: Term, bits: int) -> Term:
    total = z3.BitVecVal(0, bits)
    for i in range(value.size()):
        total = total + z3.ZeroExt(bits - 1, z3.Extract(i, i, value))
    return total


def _lzcount(value: Term, bits: int) -> Term:
    result = z3.BitVecVal(value.size(), bits)
    for i in range(value.size()):  # the highest set bit wins: it is applied last
        result = z3.If(z3.Extract(i, i, value) == 1, z3.BitVecVal(value.size() - 1 - i, bits), result)
    return result


Binary = Callable[[Term, Term], Term]

BINARY: dict[OpCode, Binary] = {
    OpCode.INT_ADD: lambda a, b: a + b,
    OpCode.INT_SUB: lambda a, b: a - b,
    OpCode.INT_MULT: lambda a, b: a * b,
    OpCode.INT_DIV: lambda a, b: z3.UDiv(a, b),
    OpCode.INT_SDIV: lambda a, b: a / b,
    OpCode.INT_REM: lambda a, b: z3.URem(a, b),
    OpCode.INT_SREM: lambda a, b: z3.SRem(a, b),
    OpCode.INT_AND: lambda a, b: a & b,
    OpCode.INT_OR: lambda a, b: a | b,
    OpCode.INT_XOR: lambda a, b: a ^ b,
    OpCode.INT_LEFT: lambda a, b: a << _fit(b, a.size()),
    OpCode.INT_RIGHT: lambda a, b: z3.LShR(a, _fit(b, a.size())),
    OpCode.INT_SRIGHT: lambda a, b: a >> _fit(b, a.size()),
    OpCode.INT_EQUAL: lambda a, b: _bool(a == b),
    OpCode.INT_NOTEQUAL: lambda a, b: _bool(a != b),
    OpCode.INT_LESS: lambda a, b: _bool(z3.ULT(a, b)),
    OpCode.INT_LESSEQUAL: lambda a, b: _bool(z3.ULE(a, b)),
    OpCode.INT_SLESS: lambda a, b: _bool(a < b),
    OpCode.INT_SLESSEQUAL: lambda a, b: _bool(a <= b),
    OpCode.INT_CARRY: lambda a, b: _bool(z3.ULT(a + b, a)),
    OpCode.INT_SCARRY: _scarry,
    OpCode.INT_SBORROW: _sborrow,
    OpCode.BOOL_AND: lambda a, b: a & b,
    OpCode.BOOL_OR: lambda a, b: a | b,
    OpCode.BOOL_XOR: lambda a, b: a ^ b,
    OpCode.PIECE: lambda a, b: z3.Concat(a, b),
    OpCode.FLOAT_EQUAL: lambda a, b: _bool(z3.fpEQ(_float(a), _float(b))),
    OpCode.FLOAT_NOTEQUAL: lambda a, b: _bool(z3.Not(z3.fpEQ(_float(a), _float(b)))),
    OpCode.FLOAT_LESS: lambda a, b: _bool(z3.fpLT(_float(a), _float(b))),
    OpCode.FLOAT_LESSEQUAL: lambda a, b: _bool(z3.fpLEQ(_float(a), _float(b))),
}

UNARY: dict[OpCode, Callable[[Term, int], Term]] = {
    OpCode.COPY: lambda a, bits: a,
    OpCode.INT_ZEXT: lambda a, bits: z3.ZeroExt(bits - a.size(), a),
    OpCode.INT_SEXT: lambda a, bits: z3.SignExt(bits - a.size(), a),
    OpCode.INT_2COMP: lambda a, bits: -a,
    OpCode.INT_NEGATE: lambda a, bits: ~a,
    OpCode.BOOL_NEGATE: lambda a, bits: a ^ 1,
    OpCode.POPCOUNT: _popcount,
    OpCode.LZCOUNT: _lzcount,
    OpCode.FLOAT_NAN: lambda a, bits: _bool(z3.fpIsNaN(_float(a))),
    OpCode.FLOAT_INT2FLOAT: _int2float,
}


def subpiece(value: Term, skip: int, bits: int) -> Term:
    """SUBPIECE: drop `skip` low bytes, keep `bits` bits."""
    low = 8 * skip
    high = min(value.size(), low + bits) - 1
    part = z3.Extract(high, low, value)
    return part if part.size() == bits else z3.ZeroExt(bits - part.size(), part)
