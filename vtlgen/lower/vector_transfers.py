"""Lowering of VL-scaled state for register transport: the stub loads VTL0's Z, P and FFR from
the extended context before the trap and stores them after, at whatever vector length the
CPU runs. Part of the lowering (`convention.py` calls it); the only ABI logic here is where
each register's home is, which `plan.model.vector` already says.

Every transfer is `LDR`/`STR` (vector or predicate) with a `mul vl` immediate (Arm ARM,
"LDR (vector)": base + imm * VL, imm in -256..255; "LDR (predicate)": base + imm * VL / 8),
so one instruction sequence is right at every VL. One base register, `ctx + VL offset`
moved by a single `ADDVL` (imm * VL, -32..31), reaches every slot of a Linux-style layout
(Z, P, FFR: arch/arm64/include/uapi/asm/sigcontext.h). FFR is reached through P0: `WRFFR`
and `RDFFR` move it to and from a predicate register (Arm ARM, "WRFFR", "RDFFR").
"""

from __future__ import annotations

from dataclasses import dataclass

from vtlgen.lower import a64
from vtlgen.plan import BYTES_PER_VQ, Block, Instruction, VectorModel

_RANGE = range(-256, 256)  # LDR/STR (vector, predicate) immediates
_ADDVL = range(-32, 32)
_FFR_VIA = "p0"

WHY_LOAD = (
    "Register transport, SVE: at the trap Z, P and FFR hold VTL0's values from the extended "
    "context, all VL bytes (arm64-review point 3; linux-sigcontext layout); `mul vl` offsets fit every VL."
)
WHY_STORE = "VTL0's Z, P and FFR go back to the extended context, all VL bytes, for VTL2 to inspect."


class Unreachable(ValueError):
    """No single ADDVL base reaches every VL-scaled slot."""


@dataclass(frozen=True)
class _Transfer:
    register: str  # z3, p2, ffr
    kind: str  # zreg or preg
    position: int  # bytes per vq from the start of the extended part


def _transfers(model: VectorModel) -> list[_Transfer]:
    out = []
    for slot in model.register_slots:
        kind = slot.element.kind
        if kind not in BYTES_PER_VQ:
            raise Unreachable(f"{slot.register}: register transport of {kind} state is not supported")
        out.append(_Transfer(slot.register, kind, slot.element.before + slot.index * BYTES_PER_VQ[kind]))
    return out


def _immediate(transfer: _Transfer, base: int) -> int | None:
    """The `mul vl` immediate of `transfer` from a base at `base` bytes per vq, if any."""
    unit = BYTES_PER_VQ[transfer.kind]  # Z: VL = 16 bytes per vq; P: VL / 8 = 2
    delta = transfer.position - base
    if delta % unit or delta // unit not in _RANGE:
        return None
    return delta // unit


def _base(transfers: list[_Transfer]) -> int:
    """The ADDVL multiple that puts every slot in reach, the smallest in magnitude."""
    for k in sorted(_ADDVL, key=abs):
        if all(_immediate(t, 16 * k) is not None for t in transfers):
            return k
    raise Unreachable("no single ADDVL base reaches every VL-scaled slot")


def _point(base: str, source: str, delta: int, k: int, symbol: str) -> list[Instruction]:
    """base = source + delta + k * VL; `symbol` spells delta for the kernel flavour."""
    out = a64.adjust(base, source, delta, f"{base} -> the extended context")
    if len(out) == 1 and out[0].mnemonic == "add":  # the usual case: one ADD, printed with the macro
        out = [Instruction("add", out[0].literal, f"{base}, {source}, #{symbol}", out[0].comment)]
    if k:
        out.append(a64.instruction("addvl", f"{base}, {base}, #{k}", f"{base} += {k} * VL: every slot in reach"))
    return out


def _transfer(op: str, transfer: _Transfer, base: str, k: int) -> Instruction:
    immediate = _immediate(transfer, 16 * k)
    assert immediate is not None  # _base
    register = _FFR_VIA if transfer.register == "ffr" else transfer.register
    address = f"[{base}, #{immediate}, mul vl]" if immediate else f"[{base}]"
    what = "FFR" if transfer.register == "ffr" else transfer.register
    return a64.instruction(op, f"{register}, {address}", f"VTL0's {what}")


def load_block(model: VectorModel, base: str, context: str, vl_offset: int, macro: str) -> Block:
    """Before the trap, with `context` holding ctx: FFR (through P0), then P, then Z."""
    transfers = _transfers(model)
    k = _base(transfers)
    out = _point(base, context, vl_offset, k, macro)
    ffr = [t for t in transfers if t.register == "ffr"]
    for t in ffr:
        out += [_transfer("ldr", t, base, k), a64.instruction("wrffr", f"{_FFR_VIA}.b", "FFR = VTL0's")]
    out += [_transfer("ldr", t, base, k) for t in transfers if t.register != "ffr"]
    return Block("load VTL0 vector state", WHY_LOAD, tuple(out))


def store_block(model: VectorModel, base: str, context: str, context_bias: int, vl_offset: int, macro: str) -> Block:
    """After the trap, with `context` holding ctx + context_bias: Z, then P, then FFR (via P0,
    which is stored first)."""
    transfers = _transfers(model)
    k = _base(transfers)
    symbol = f"({macro} - {context_bias})" if context_bias else macro
    out = _point(base, context, vl_offset - context_bias, k, symbol)
    out += [_transfer("str", t, base, k) for t in transfers if t.register != "ffr"]
    for t in transfers:
        if t.register == "ffr":
            out += [a64.instruction("rdffr", f"{_FFR_VIA}.b", "VTL0's FFR"), _transfer("str", t, base, k)]
    return Block("store VTL0 vector state", WHY_STORE, tuple(out))


def cost(model: VectorModel) -> int:
    """Instructions each way: one transfer per slot, FFR's move through P0, the base's setup
    (an ADD for the fixed offset, an ADDVL when the slots need one)."""
    transfers = _transfers(model)
    if not transfers:
        return 0
    return len(transfers) + sum(t.register == "ffr" for t in transfers) + 1 + (_base(transfers) != 0)
