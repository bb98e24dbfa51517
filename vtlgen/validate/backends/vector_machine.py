"""SVE and SME state, and the semantics of exactly the SVE/SME forms vtlgen encodes.

Unicorn 2.1 runs no SVE or SME: its CPU raises UDEF on every such word. The unicorn backend
hands each decoded word (`vtlgen.isa.sve.SveInstruction`) to a `VectorMachine`, which holds
the state unicorn lacks and performs the instruction through callbacks into the emulator:
general-purpose registers by number (31 is SP for the forms whose Rn/Rd may be SP) and
memory by address. Nothing here knows unicorn.

State (Arm ARM, A1.4 "Supported data types" and the SVE/SME register chapters):
- z0-z31: VL bytes each; the low 16 bytes of Zn are Vn/Qn, which the emulator holds, so
  the backend keeps them in sync (`z_read` before, `Effects.z_written` after).
- p0-p15 and FFR: VL / 8 bytes each (one bit per byte of a Z register).
- ZA: SVL x SVL bytes, row-major (row r at r * SVL, as Linux's za_context stores it);
  accessible only while PSTATE.ZA is 1.
- PSTATE.SM (streaming mode) and PSTATE.ZA, together SVCR (bit 0 SM, bit 1 ZA).
In streaming mode the effective vector length of Z, P and FFR is SVL, not VL.

The forms: LDR/STR (vector), LDR/STR (predicate), ADDVL, ADDPL, RDVL, RDFFR (unpredicated),
WRFFR, SETFFR, PTRUE (pattern ALL), SMSTART/SMSTOP (MSR SVCRSM/SVCRZA/SVCRSMZA), ZERO {ZA},
LDR/STR (array vector). An instruction the state forbids raises a `VectorTrap` subclass,
which the backend reports as an exception at that instruction (what the CPU would take).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple, Protocol

from vtlgen.isa.vector_length import is_architectural, is_streaming_architectural

MASK64 = (1 << 64) - 1
SP = 31  # register number 31 is SP for LDR/STR bases and for ADDVL/ADDPL
# ResetSVEState (Arm ARM, SME pseudocode): FPSR after PSTATE.SM changes.
FPSR_AFTER_SM_CHANGE = 0x0800_009F
# PTRUE (Arm ARM C8.2): the lowest predicate bit of each element is set; per byte of P.
_PTRUE_BYTE = {"b": 0xFF, "h": 0x55, "s": 0x11, "d": 0x01}


class Instruction(Protocol):
    """What `vtlgen.isa.sve.SveInstruction` carries (read-only)."""

    @property
    def form(self) -> str: ...
    @property
    def t(self) -> int: ...
    @property
    def n(self) -> int: ...
    @property
    def imm(self) -> int: ...
    @property
    def size(self) -> str: ...


class VectorTrap(Exception):
    """The instruction is not executed: the CPU takes an exception at it."""

    kind = "undefined"


class IllegalInStreamingMode(VectorTrap):
    """RDFFR, WRFFR and SETFFR in streaming SVE mode without FEAT_SME_FA64 (Arm ARM, streaming SVE mode:
    "SVE instructions that are illegal in Streaming SVE mode"): an SME exception, EC 0x1D."""

    kind = "streaming-illegal"


class ZaDisabled(VectorTrap):
    """An SME instruction that accesses ZA while PSTATE.ZA is 0 (CheckSMEAndZAEnabled): EC 0x1D."""

    kind = "za-disabled"


class UndefinedInstruction(VectorTrap):
    """A form the CPU does not have: SME forms without SME (SVL 0), or an unknown form."""

    kind = "undefined"


class MemoryAccess(NamedTuple):
    address: int
    size: int
    write: bool
    base: int  # the base register's number (31: SP)


class Effects(NamedTuple):
    """What one executed instruction did, beyond the state it holds itself."""

    accesses: tuple[MemoryAccess, ...] = ()
    z_written: tuple[int, ...] = ()  # Z registers whose low 16 bytes (Qn) the emulator must be given
    x_written: tuple[int, ...] = ()  # general-purpose registers written (31: SP)
    sm_changed: bool = False  # PSTATE.SM changed: ResetSVEState, FPSR = FPSR_AFTER_SM_CHANGE


ReadX = Callable[[int], int]
WriteX = Callable[[int, int], None]
Load = Callable[[int, int], bytes]
Store = Callable[[int, bytes], None]

_NO_EFFECTS = Effects()


def z_read(insn: Instruction) -> int | None:
    """The Z register whose current value (its low 16 bytes: Qn) the instruction reads."""
    return insn.t if insn.form == "str_z" else None


class VectorMachine:
    """SVE/SME architectural state at vector length `vl` and streaming length `svl` (bytes;
    svl 0: no SME). `fa64`: FEAT_SME_FA64, which makes FFR legal in streaming mode."""

    def __init__(self, vl: int, svl: int = 0, fa64: bool = False):
        if not is_architectural(vl):
            raise ValueError(f"vector length {vl}: a multiple of 16 bytes up to 256 (Arm ARM: 128 to 2048 bits)")
        if svl and not is_streaming_architectural(svl):
            raise ValueError(f"streaming vector length {svl}: a power of two from 16 to 256 bytes")
        self.vl = vl
        self.svl = svl
        self.fa64 = fa64
        self.sm = False
        self.za_enabled = False
        self.za = bytearray(svl * svl)
        self.z: list[bytes] = []
        self.p: list[bytes] = []
        self.ffr = b""
        self._reset_sve()

    # --- state -------------------------------------------------------------------------

    @property
    def length(self) -> int:
        """The effective vector length: SVL in streaming mode, VL otherwise."""
        return self.svl if self.sm else self.vl

    @property
    def predicate_length(self) -> int:
        return self.length // 8

    @property
    def svcr(self) -> int:
        return int(self.sm) | int(self.za_enabled) << 1

    def _reset_sve(self) -> None:
        """ResetSVEState: Z, P and FFR zero at the current effective length."""
        self.z = [bytes(self.length)] * 32
        self.p = [bytes(self.predicate_length)] * 16
        self.ffr = bytes(self.predicate_length)

    def set_streaming(self, sm: bool, za: bool = False) -> None:
        """The state a trial is called in (SVCR), before `load`: Z, P, FFR and ZA zero."""
        if (sm or za) and not self.svl:
            raise ValueError("streaming mode or ZA without SME (svl 0)")
        self.sm, self.za_enabled = sm, za
        self._reset_sve()
        self.za = bytearray(self.svl * self.svl)

    def load(self, values: Mapping[str, bytes]) -> None:
        """Set state by name (z0-z31, p0-p15, ffr, za), each exactly its current size.
        A "za" value enables PSTATE.ZA."""
        for name, data in values.items():
            if name == "za":
                self._check_size(name, data, self.svl * self.svl)
                self.za = bytearray(data)
                self.za_enabled = True
            elif name == "ffr":
                self.ffr = self._check_size(name, data, self.predicate_length)
            elif name[0] == "z" and name[1:].isdigit() and int(name[1:]) < 32:
                self.z[int(name[1:])] = self._check_size(name, data, self.length)
            elif name[0] == "p" and name[1:].isdigit() and int(name[1:]) < 16:
                self.p[int(name[1:])] = self._check_size(name, data, self.predicate_length)
            else:
                raise ValueError(f"no SVE/SME state called {name!r}")

    @staticmethod
    def _check_size(name: str, data: bytes, size: int) -> bytes:
        if len(data) != size:
            raise ValueError(f"{name}: {len(data)} bytes where the current length gives {size}")
        return bytes(data)

    def snapshot(self) -> dict[str, bytes]:
        """Every piece of state by name, as `Trap.vector` holds it; "za" only while PSTATE.ZA is 1."""
        out = {f"z{n}": value for n, value in enumerate(self.z)}
        out |= {f"p{n}": value for n, value in enumerate(self.p)}
        out["ffr"] = self.ffr
        if self.za_enabled:
            out["za"] = bytes(self.za)
        return out

    def set_q(self, n: int, low: bytes) -> None:
        """Qn as the emulator holds it; the bits above 127 of Zn are kept."""
        self.z[n] = low + self.z[n][16:]

    def q_written(self, n: int) -> None:
        """An AdvSIMD or FP instruction wrote Vn: the bits of Zn above 127 become zero
        (Arm ARM, "SVE: writes to Vn zero the upper bits"; low 16 bytes are the emulator's)."""
        self.z[n] = self.z[n][:16] + bytes(self.length - 16)

    # --- execution ----------------------------------------------------------------------

    def execute(self, insn: Instruction, read_x: ReadX, write_x: WriteX, load: Load, store: Store) -> Effects:
        """Perform one instruction; raises a `VectorTrap` (and changes nothing) when it traps."""
        handler = _HANDLERS.get(insn.form)
        if handler is None:
            raise UndefinedInstruction(f"no semantics for form {insn.form!r}")
        return handler(self, insn, read_x, write_x, load, store)

    def _check_ffr_legal(self) -> None:
        if self.sm and not self.fa64:
            raise IllegalInStreamingMode("FFR is not accessible in streaming SVE mode without FEAT_SME_FA64")

    def _check_sme(self) -> None:
        if not self.svl:
            raise UndefinedInstruction("SME instruction without FEAT_SME")

    def _check_za(self) -> None:
        self._check_sme()
        if not self.za_enabled:
            raise ZaDisabled("ZA is accessed while PSTATE.ZA is 0")

    def _ldr_z(self, insn: Instruction, read_x: ReadX, _w: WriteX, load: Load, _s: Store) -> Effects:
        # LDR (vector): Zt = Mem[Xn|SP + imm * VL, VL bytes]
        size = self.length
        address = (read_x(insn.n) + insn.imm * size) & MASK64
        self.z[insn.t] = bytes(load(address, size))
        return Effects((MemoryAccess(address, size, False, insn.n),), z_written=(insn.t,))

    def _str_z(self, insn: Instruction, read_x: ReadX, _w: WriteX, _l: Load, store: Store) -> Effects:
        # STR (vector): Mem[Xn|SP + imm * VL, VL bytes] = Zt
        size = self.length
        address = (read_x(insn.n) + insn.imm * size) & MASK64
        store(address, self.z[insn.t])
        return Effects((MemoryAccess(address, size, True, insn.n),))

    def _ldr_p(self, insn: Instruction, read_x: ReadX, _w: WriteX, load: Load, _s: Store) -> Effects:
        # LDR (predicate): Pt = Mem[Xn|SP + imm * PL, PL bytes], PL = VL / 8
        size = self.predicate_length
        address = (read_x(insn.n) + insn.imm * size) & MASK64
        self.p[insn.t] = bytes(load(address, size))
        return Effects((MemoryAccess(address, size, False, insn.n),))

    def _str_p(self, insn: Instruction, read_x: ReadX, _w: WriteX, _l: Load, store: Store) -> Effects:
        # STR (predicate): Mem[Xn|SP + imm * PL, PL bytes] = Pt
        size = self.predicate_length
        address = (read_x(insn.n) + insn.imm * size) & MASK64
        store(address, self.p[insn.t])
        return Effects((MemoryAccess(address, size, True, insn.n),))

    def _rdffr(self, insn: Instruction, *_: object) -> Effects:
        # RDFFR (unpredicated): Pd.B = FFR
        self._check_ffr_legal()
        self.p[insn.t] = self.ffr
        return _NO_EFFECTS

    def _wrffr(self, insn: Instruction, *_: object) -> Effects:
        # WRFFR: FFR = Pn.B
        self._check_ffr_legal()
        self.ffr = self.p[insn.t]
        return _NO_EFFECTS

    def _setffr(self, _insn: Instruction, *_: object) -> Effects:
        # SETFFR: FFR = all true
        self._check_ffr_legal()
        self.ffr = b"\xff" * self.predicate_length
        return _NO_EFFECTS

    def _ptrue(self, insn: Instruction, *_: object) -> Effects:
        # PTRUE Pd.<T>, ALL: every element active; its lowest predicate bit set, the others clear
        pattern = _PTRUE_BYTE.get(insn.size)
        if pattern is None:
            raise UndefinedInstruction(f"ptrue element size {insn.size!r}")
        self.p[insn.t] = bytes([pattern]) * self.predicate_length
        return _NO_EFFECTS

    def _add_scaled(self, insn: Instruction, read_x: ReadX, write_x: WriteX, scale: int) -> Effects:
        write_x(insn.t, (read_x(insn.n) + insn.imm * scale) & MASK64)
        return Effects(x_written=(insn.t,))

    def _addvl(self, insn: Instruction, read_x: ReadX, write_x: WriteX, *_: object) -> Effects:
        # ADDVL Xd|SP, Xn|SP, #imm: Xd = Xn + imm * VL
        return self._add_scaled(insn, read_x, write_x, self.length)

    def _addpl(self, insn: Instruction, read_x: ReadX, write_x: WriteX, *_: object) -> Effects:
        # ADDPL Xd|SP, Xn|SP, #imm: Xd = Xn + imm * PL
        return self._add_scaled(insn, read_x, write_x, self.predicate_length)

    def _rdvl(self, insn: Instruction, _r: ReadX, write_x: WriteX, *_: object) -> Effects:
        # RDVL Xd, #imm: Xd = imm * VL; register 31 is XZR here, so nothing is written
        if insn.t == 31:
            return _NO_EFFECTS
        write_x(insn.t, (insn.imm * self.length) & MASK64)
        return Effects(x_written=(insn.t,))

    def _set_svcr(self, insn: Instruction, value: bool) -> Effects:
        # SMSTART/SMSTOP: MSR SVCRSMZA (t 0), SVCRSM (t 1), SVCRZA (t 2), #value
        self._check_sme()
        if insn.t not in (0, 1, 2):
            raise UndefinedInstruction(f"smstart/smstop operand {insn.t}")
        changed = False
        if insn.t in (0, 1) and self.sm != value:
            # SetPSTATE_SM: a change of PSTATE.SM runs ResetSVEState at the new length
            self.sm = value
            self._reset_sve()
            changed = True
        if insn.t in (0, 2) and self.za_enabled != value:
            # SetPSTATE_ZA: ZA is zero when it becomes accessible; SMSTOP ZA discards it
            self.za_enabled = value
            self.za = bytearray(self.svl * self.svl)
        return Effects(z_written=tuple(range(32)) if changed else (), sm_changed=changed)

    def _smstart(self, insn: Instruction, *_: object) -> Effects:
        return self._set_svcr(insn, True)

    def _smstop(self, insn: Instruction, *_: object) -> Effects:
        return self._set_svcr(insn, False)

    def _zero_za(self, _insn: Instruction, *_: object) -> Effects:
        # ZERO { ZA }
        self._check_za()
        self.za = bytearray(self.svl * self.svl)
        return _NO_EFFECTS

    def _za_row(self, insn: Instruction, read_x: ReadX) -> tuple[int, int]:
        """LDR/STR (array vector): row (UInt(Wv) + offs) MOD SVL-in-bytes (Arm ARM: `dim = SVL DIV 8`,
        `vec = (UInt(index) + offset) MOD dim`), address Xn|SP + offs * SVL bytes."""
        self._check_za()
        if insn.t not in (12, 13, 14, 15) or not 0 <= insn.imm <= 15:
            raise UndefinedInstruction(f"ZA vector select w{insn.t}, offset {insn.imm}")
        row = ((read_x(insn.t) & 0xFFFF_FFFF) + insn.imm) % self.svl
        address = (read_x(insn.n) + insn.imm * self.svl) & MASK64
        return row, address

    def _ldr_za(self, insn: Instruction, read_x: ReadX, _w: WriteX, load: Load, _s: Store) -> Effects:
        # LDR ZA[Wv, offs], [Xn|SP{, #offs, MUL VL}]
        row, address = self._za_row(insn, read_x)
        size = self.svl
        self.za[row * size : (row + 1) * size] = load(address, size)
        return Effects((MemoryAccess(address, size, False, insn.n),))

    def _str_za(self, insn: Instruction, read_x: ReadX, _w: WriteX, _l: Load, store: Store) -> Effects:
        # STR ZA[Wv, offs], [Xn|SP{, #offs, MUL VL}]
        row, address = self._za_row(insn, read_x)
        size = self.svl
        store(address, bytes(self.za[row * size : (row + 1) * size]))
        return Effects((MemoryAccess(address, size, True, insn.n),))


_Handler = Callable[[VectorMachine, Instruction, ReadX, WriteX, Load, Store], Effects]
_HANDLERS: dict[str, _Handler] = {
    "ldr_z": VectorMachine._ldr_z,
    "str_z": VectorMachine._str_z,
    "ldr_p": VectorMachine._ldr_p,
    "str_p": VectorMachine._str_p,
    "rdffr": VectorMachine._rdffr,
    "wrffr": VectorMachine._wrffr,
    "setffr": VectorMachine._setffr,
    "addvl": VectorMachine._addvl,
    "addpl": VectorMachine._addpl,
    "rdvl": VectorMachine._rdvl,
    "ptrue": VectorMachine._ptrue,
    "smstart": VectorMachine._smstart,
    "smstop": VectorMachine._smstop,
    "zero_za": VectorMachine._zero_za,
    "ldr_za": VectorMachine._ldr_za,
    "str_za": VectorMachine._str_za,
}
