"""The meaning over z3 of the SVE/SME forms vtlgen encodes (`vtlgen.isa.sve.FORMS`), at one VL.

SLEIGH's AArch64 specification lifts most of these to bare user operations (`SVE_ldr`,
`SVE_addvl`, ...) whose operands lose what matters (`ptrue p0.b` and `ptrue p0.d` lift
alike; `setffr`, `zero {za}` and the ZA slice forms do not lift at all), and its z and p
registers hold 256 and 32 bits, less than the architecture's 2048 and 256. So the proof
reads each word with vtlgen's own decoder and performs the form here, from the Arm ARM
pseudocode of each instruction page, exactly as `vtlgen.validate.backends.vector_machine`
does on concrete bytes: the same `SCALE` table says which length each form multiplies.

State: Z in `State.read_z`/`write_z`, P0-P15, FFR, PSTATE.ZA and a token for ZA's contents
in `State.vector` (`World.vector_entry_registers`). PSTATE.SM is 0 at entry (the specs'
entry requirement); entering streaming mode, where lengths become SVL, is not modelled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import z3

from vtlgen.isa import sve
from vtlgen.prove import world as w
from vtlgen.prove.obligations import ProofObligations
from vtlgen.prove.state import State, Unproven

# What a "mul vl" or ADDVL/ADDPL/RDVL immediate multiplies (Arm ARM: LDR/STR (vector) and
# RDVL and ADDVL use VL bytes; LDR/STR (predicate) and ADDPL use PL = VL / 8 bytes).
SCALE = {"ldr_z": 8, "str_z": 8, "ldr_p": 1, "str_p": 1, "addvl": 8, "addpl": 1, "rdvl": 8}  # eighths of VL
# PTRUE (pattern ALL): each element's lowest predicate bit set, per byte of P.
PTRUE_BYTE = {"b": 0xFF, "h": 0x55, "s": 0x11, "d": 0x01}
_SMSTART_SM = (0, 1)  # smstart t: 0 both, 1 SVCR.SM, 2 SVCR.ZA
_SMSTART_ZA = (0, 2)


@dataclass
class Machine:
    """One path's view for an SVE/SME instruction: the state, the VL, and the obligations that
    check its memory accesses (P7, P8) and exceptions (P9)."""

    state: State
    world: w.World
    obligations: ProofObligations

    @property
    def vl(self) -> int:
        return self.world.vector_length

    def x(self, n: int) -> z3.BitVecRef:
        """Xn, or SP for register 31 (the base of LDR/STR, ADDVL/ADDPL's operands)."""
        return self.state.read_register(w.SP if n == sve.SP else w.x_base(n), 8, self.world)

    def set_x(self, n: int, value: z3.BitVecRef) -> None:
        self.state.write_register(w.SP if n == sve.SP else w.x_base(n), 8, value)
        self.state.frame_dirty = True  # may be x29, x30, SP, or a register P3 watches

    def address(self, insn: sve.SveInstruction) -> z3.BitVecRef:
        scale = SCALE[insn.form] * self.vl // 8
        return self.x(insn.n) + z3.BitVecVal((insn.imm * scale) & ((1 << 64) - 1), 64)

    def located(self, insn: sve.SveInstruction, size: int, write: bool) -> tuple[str, int]:
        address = self.address(insn)
        sp = self.state.registers[w.SP] if insn.n == sve.SP else None
        found = self.obligations.access(self.state, self.state.pc, address, size, write, sp)
        if found is None:
            raise Stopped
        return found


class Stopped(Exception):
    """The path ends at this instruction (an access anywhere, or an exception)."""


def _ldr_z(m: Machine, insn: sve.SveInstruction) -> None:
    region, start = m.located(insn, m.vl, False)
    m.state.write_z(insn.t, m.state.load(region, start, m.vl, m.world), m.vl)


def _str_z(m: Machine, insn: sve.SveInstruction) -> None:
    region, start = m.located(insn, m.vl, True)
    _stored(m, region, start, m.state.read_z(insn.t, m.vl, m.world))


def _ldr_p(m: Machine, insn: sve.SveInstruction) -> None:
    region, start = m.located(insn, m.vl // 8, False)
    m.state.vector[f"p{insn.t}"] = m.state.load(region, start, m.vl // 8, m.world)


def _str_p(m: Machine, insn: sve.SveInstruction) -> None:
    region, start = m.located(insn, m.vl // 8, True)
    _stored(m, region, start, m.state.vector[f"p{insn.t}"])


def _stored(m: Machine, region: str, start: int, value: z3.BitVecRef) -> None:
    m.state.store(region, start, value)
    if region == "stack":
        m.state.frame_dirty = True


def _rdffr(m: Machine, insn: sve.SveInstruction) -> None:
    m.state.vector[f"p{insn.t}"] = m.state.vector["ffr"]


def _wrffr(m: Machine, insn: sve.SveInstruction) -> None:
    m.state.vector["ffr"] = m.state.vector[f"p{insn.t}"]


def _setffr(m: Machine, _insn: sve.SveInstruction) -> None:
    m.state.vector["ffr"] = z3.BitVecVal((1 << m.vl) - 1, m.vl)


def _ptrue(m: Machine, insn: sve.SveInstruction) -> None:
    pattern = PTRUE_BYTE[insn.size]
    m.state.vector[f"p{insn.t}"] = z3.BitVecVal(int.from_bytes(bytes([pattern]) * (m.vl // 8), "little"), m.vl)


def _add_scaled(m: Machine, insn: sve.SveInstruction) -> None:
    scale = SCALE[insn.form] * m.vl // 8
    m.set_x(insn.t, m.x(insn.n) + z3.BitVecVal((insn.imm * scale) & ((1 << 64) - 1), 64))


def _rdvl(m: Machine, insn: sve.SveInstruction) -> None:
    if insn.t != 31:  # XZR: nothing written
        m.set_x(insn.t, z3.BitVecVal((insn.imm * m.vl) & ((1 << 64) - 1), 64))


def _svcr(m: Machine, insn: sve.SveInstruction, value: int) -> None:
    """SMSTART/SMSTOP: SetPSTATE_SM and SetPSTATE_ZA (Arm ARM, SME pseudocode). A change of
    PSTATE.ZA zeroes ZA; SM is 0 here, so SMSTOP SM changes nothing and SMSTART SM would
    enter streaming mode, at a length the proof does not model."""
    if insn.t in _SMSTART_SM and value:
        raise Unproven("streaming SVE mode (smstart sm) is not modelled: its length SVL is not the context's VL")
    if insn.t in _SMSTART_ZA:
        bit = z3.BitVecVal(value, 1)
        vector = m.state.vector
        vector["za"] = z3.If(vector["svcr.za"] == bit, vector["za"], z3.BitVecVal(0, 64))
        vector["svcr.za"] = bit


def _zero_za(m: Machine, _insn: sve.SveInstruction) -> None:
    vector = m.state.vector
    disabled = vector["svcr.za"] == 0  # CheckSMEAndZAEnabled: an SME exception
    message = "raises an exception that is not the conduit (zero {za} while PSTATE.ZA is 0)"
    m.obligations.fail(m.state, "P9", message, m.state.pc, "", "one trap, the conduit", "SME trap", disabled)
    if not m.obligations.feasible(m.state.path, z3.Not(disabled)):
        raise Stopped
    m.state.path.append(z3.Not(disabled))
    vector["za"] = z3.BitVecVal(0, 64)


def _za_slice(_m: Machine, insn: sve.SveInstruction) -> None:
    raise Unproven(f"{sve.disassemble(insn)}: ZA slices are not modelled in the proof (the trials run them)")


HANDLERS: dict[str, Callable[[Machine, sve.SveInstruction], None]] = {
    "ldr_z": _ldr_z,
    "str_z": _str_z,
    "ldr_p": _ldr_p,
    "str_p": _str_p,
    "rdffr": _rdffr,
    "wrffr": _wrffr,
    "setffr": _setffr,
    "addvl": _add_scaled,
    "addpl": _add_scaled,
    "rdvl": _rdvl,
    "ptrue": _ptrue,
    "smstart": lambda m, insn: _svcr(m, insn, 1),
    "smstop": lambda m, insn: _svcr(m, insn, 0),
    "zero_za": _zero_za,
    "ldr_za": _za_slice,
    "str_za": _za_slice,
}


def execute(state: State, world: w.World, obligations: ProofObligations, insn: sve.SveInstruction) -> bool:
    """Perform one decoded SVE/SME instruction; False when the path ends at it."""
    if not world.vector_length:
        raise Unproven(f"{sve.disassemble(insn)} needs a vector length: the proof runs without SVE state")
    handler = HANDLERS.get(insn.form)
    if handler is None:
        raise Unproven(f"{sve.disassemble(insn)}: no semantics; the proof models {sve.SUPPORTED}")
    try:
        handler(Machine(state, world, obligations), insn)
    except Stopped:
        return False
    return True


def vector_move(state: State, world: w.World, register_slots: tuple[str, ...], randomized: tuple[str, ...]) -> None:
    """The hypervisor's move on SVE state at the trap (TLFS VSM, through the spec's classes):
    shared registers get VTL0's new values (`vtl0.new.`), clobbered ones anything (`hv.`)."""
    vl = world.vector_length
    for name in (*register_slots, *randomized):
        prefix = f"{w.VTL0}new." if name in register_slots else w.HYPERVISOR
        if name.startswith("z") and name[1:].isdigit():
            state.write_z(int(name[1:]), z3.BitVec(f"{prefix}{name}", 8 * vl), vl)
        elif name == "z_upper" and vl > 16:
            for n in range(32):
                upper = z3.BitVec(f"{prefix}z{n}_upper", 8 * vl - 128)
                state.write_z(n, z3.Concat(upper, z3.Extract(127, 0, state.read_z(n, vl, world))), vl)
        elif name == "ffr" or (name.startswith("p") and name[1:].isdigit()):
            state.vector[name] = z3.BitVec(f"{prefix}{name}", vl)
