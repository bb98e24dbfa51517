"""Capstone behind one object: per-instruction facts the validator needs.

Register names are normalised to the spec's: `fp` -> x29, `lr` -> x30, `wN` -> xN and
`dN`/`sN`/`vN` -> qN, so that a register class has one meaning everywhere.

Capstone 5's register lists are wrong for some instructions (tests/test_disassembler.py
pins each correction against the Arm ARM's definition): cbz/cbnz do not read NZCV;
cmp/cmn/tst read their first operand and write only NZCV; the bitfield aliases
(ubfx, sxtw, lsl #imm, ...) do not read their destination; `ret` reads x30; `mrs Xt, nzcv`
reads NZCV and `msr nzcv, Xt` writes it; `dc` reads its address register and `dc zva`
writes memory. Only mnemonics in `_VETTED` are trusted at all: any other instruction is
marked inexact, which makes every check that needs its facts conservative (it may read
or write any register, and it may touch memory, so memory hooks watch it).

The SVE/SME forms vtlgen encodes itself (`vtlgen.isa.sve`) are decoded by vtlgen, not capstone,
with their effects from the Arm ARM pages of each (see `_sve_effects`). Their addresses and
sizes scale with the vector length, so they carry a `VectorAccess` and no `DecodedAccess`: every
static model of addresses leaves them to the memory hooks or marks their slots unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import capstone
from capstone import arm64_const

from vtlgen.isa import registers, sve
from vtlgen.isa.encoding import CONDITION_CODES

_ALIASES = {"fp": "x29", "lr": "x30", "wsp": "sp"}
_SCALAR = re.compile(r"^([wxbhsdqv])(\d+)$")


def normalise(name: str) -> str | None:
    """The spec's name for a capstone register name; None for zero registers."""
    name = _ALIASES.get(name, name)
    if name in ("xzr", "wzr"):
        return None
    match = _SCALAR.match(name)
    if match:
        kind, number = match.groups()
        return f"x{number}" if kind in "wx" else f"q{number}"
    return name


@dataclass(frozen=True)
class DecodedAccess:
    """A load or store whose address follows from registers before it executes."""

    write: bool
    size: int  # bytes, both registers of a pair included
    base: str
    index: str | None
    shift: int  # index << shift
    displacement: int
    post_index: bool  # `[base], #imm`: the access is at base


# The old name, until validate/backends/unicorn.py imports DecodedAccess (it already uses that
# name); vtlgen.validate.backends.base.Access is the observed access, a different thing.
Access = DecodedAccess


@dataclass(frozen=True)
class VectorAccess:
    """A load or store of SVE/SME state: at base + multiple * size, `size` bytes, where the
    size is a whole vector and known only when the code runs (the vector length)."""

    write: bool
    base: str
    multiple: int  # the `mul vl` immediate
    unit: str  # "vl": VL bytes (a Z register); "pl": VL / 8 bytes (P); "svl": streaming VL bytes (a ZA slice)

    def placement(self, vector_length: int, streaming_length: int) -> tuple[int, int]:
        """(displacement from the base, size), both in bytes, when the code runs with these lengths.

        `vector_length` is the effective one: in streaming mode Z and P are SVL long, so pass
        the streaming vector length there too (Arm ARM, "Streaming SVE mode")."""
        size = {"vl": vector_length, "pl": vector_length // 8, "svl": streaming_length}[self.unit]
        return self.multiple * size, size


@dataclass(frozen=True)
class Decoded:
    offset: int
    text: str  # capstone's disassembly
    reads: frozenset[str]
    writes: frozenset[str]
    base: str | None  # base register of a memory operand
    displacement: int
    writeback: bool
    pre_index: bool  # writeback with the offset applied before the access
    memory: bool  # may touch memory (a memory operand, a literal load, `dc`, or unknown)
    access: DecodedAccess | None  # None for a memory instruction whose address is not modelled here
    exact: bool = True  # reads/writes are known; False: treat as reading and writing anything
    vector_access: VectorAccess | None = None  # an SVE/SME load or store (then `access` is None)


# Plain loads and stores: mnemonic -> bytes per register (0: the register's own width).
_ACCESS_WIDTH = {
    "ldr": 0, "str": 0, "ldur": 0, "stur": 0, "ldp": 0, "stp": 0, "ldnp": 0, "stnp": 0,
    "ldrb": 1, "strb": 1, "ldurb": 1, "sturb": 1, "ldrsb": 1, "ldursb": 1,
    "ldrh": 2, "strh": 2, "ldurh": 2, "sturh": 2, "ldrsh": 2, "ldursh": 2,
    "ldrsw": 4, "ldursw": 4, "ldpsw": 4,
}  # fmt: skip
_REGISTER_WIDTH = {"w": 4, "x": 8, "b": 1, "h": 2, "s": 4, "d": 8, "q": 16}


def _access(insn: capstone.CsInsn, base: str | None, displacement: int, post_index: bool) -> DecodedAccess | None:
    width = _ACCESS_WIDTH.get(insn.mnemonic)
    if width is None or base is None:
        return None
    data = [
        _ALIASES.get(n, n) for n in (insn.reg_name(o.reg) for o in insn.operands if o.type == arm64_const.ARM64_OP_REG)
    ]
    pair = insn.mnemonic in ("ldp", "stp", "ldnp", "stnp", "ldpsw")
    data = data[:2] if pair else data[:1]
    if not data:
        return None
    if width == 0:
        width = _REGISTER_WIDTH.get(data[0][0], 0)
        if data[0] in ("xzr", "sp"):
            width = 8
        elif data[0] == "wzr":
            width = 4
    if width == 0:
        return None
    index, shift = None, 0
    for operand in insn.operands:
        if operand.type == arm64_const.ARM64_OP_MEM and operand.mem.index:
            if operand.ext not in (0,) or operand.shift.type not in (0, arm64_const.ARM64_SFT_LSL):
                return None  # extended index registers: leave to the memory hooks
            index = normalise(insn.reg_name(operand.mem.index))
            shift = operand.shift.value
    write = insn.mnemonic.startswith("st")
    return DecodedAccess(write, width * len(data), base, index, shift, displacement, post_index)


_DATA = [
    "mov",
    "movz",
    "movk",
    "movn",
    "add",
    "adds",
    "sub",
    "subs",
    "adc",
    "adcs",
    "sbc",
    "sbcs",
    "and",
    "ands",
    "orr",
    "eor",
    "eon",
    "orn",
    "bic",
    "bics",
    "mvn",
    "neg",
    "negs",
    "ngc",
    "ngcs",
    "lsl",
    "lsr",
    "asr",
    "ror",
    "lslv",
    "lsrv",
    "asrv",
    "rorv",
    "ubfx",
    "sbfx",
    "ubfiz",
    "sbfiz",
    "bfi",
    "bfxil",
    "bfc",
    "bfm",
    "ubfm",
    "sbfm",
    "extr",
    "sxtw",
    "sxth",
    "sxtb",
    "uxtb",
    "uxth",
    "mul",
    "madd",
    "msub",
    "mneg",
    "smull",
    "umull",
    "smaddl",
    "umaddl",
    "smsubl",
    "umsubl",
    "smulh",
    "umulh",
    "udiv",
    "sdiv",
    "clz",
    "cls",
    "rbit",
    "rev",
    "rev16",
    "rev32",
    "csel",
    "csinc",
    "csinv",
    "csneg",
    "cset",
    "csetm",
    "cinc",
    "cinv",
    "cneg",
    "ccmp",
    "ccmn",
    "cmp",
    "cmn",
    "tst",
    "adr",
    "adrp",
    "fmov",
    "fcmp",
    "fcmpe",
    "fccmp",
    "fccmpe",
    "fcsel",
    "fadd",
    "fsub",
    "fmul",
    "fdiv",
    "fneg",
    "fabs",
    "scvtf",
    "ucvtf",
    "fcvtzs",
    "fcvtzu",
    "dup",
    "ins",
    "umov",
    "smov",
    "movi",
    "mvni",
    "eor3",
    "orr.16b",
    "and.16b",
]
_CONTROL = [
    "b",
    "bl",
    "br",
    "blr",
    "ret",
    "cbz",
    "cbnz",
    "tbz",
    "tbnz",
    "nop",
    "hint",
    "bti",
    "paciasp",
    "autiasp",
    "isb",
    "dsb",
    "dmb",
    "mrs",
    "msr",
    "hvc",
    "smc",
    "brk",
]
_MEMORY = [
    "ldr",
    "str",
    "ldur",
    "stur",
    "ldp",
    "stp",
    "ldnp",
    "stnp",
    "ldrb",
    "strb",
    "ldurb",
    "sturb",
    "ldrsb",
    "ldursb",
    "ldrh",
    "strh",
    "ldurh",
    "sturh",
    "ldrsh",
    "ldursh",
    "ldrsw",
    "ldursw",
    "ldpsw",
    "ldxr",
    "stxr",
    "ldaxr",
    "stlxr",
    "ldar",
    "stlr",
    "ldxp",
    "stxp",
    "ldaxp",
    "stlxp",
    "ldxrb",
    "ldxrh",
    "stxrb",
    "stxrh",
    "ldarb",
    "ldarh",
    "stlrb",
    "stlrh",
    "prfm",
    "ld1",
    "st1",
    "ld2",
    "st2",
    "ld3",
    "st3",
    "ld4",
    "st4",
    "dc",
]
_VETTED = frozenset([*_DATA, *_CONTROL, *_MEMORY, *(f"b.{c}" for c in CONDITION_CODES)])
_BITFIELD_ALIASES = frozenset(
    ["ubfx", "sbfx", "ubfiz", "sbfiz", "sxtw", "sxth", "sxtb", "uxtb", "uxth", "uxtw", "lsl", "lsr", "asr"]
)
_COMPARES = frozenset(("cmp", "cmn", "tst"))
ANY_REGISTER = frozenset(registers.MODELLED)  # what an inexact instruction may read or write


def _register_operands(insn: capstone.CsInsn) -> list[str]:
    names = []
    for operand in insn.operands:
        if operand.type == arm64_const.ARM64_OP_REG:
            name = normalise(insn.reg_name(operand.reg))
            if name:
                names.append(name)
    return names


def _corrected(
    insn: capstone.CsInsn, reads: frozenset[str], writes: frozenset[str]
) -> tuple[frozenset[str], frozenset[str]]:
    """Capstone's register lists with the corrections the module docstring lists."""
    mnemonic, operands = insn.mnemonic, _register_operands(insn)
    if mnemonic in ("cbz", "cbnz"):
        return reads - {"nzcv"}, writes
    if mnemonic in _COMPARES:
        return reads | frozenset(operands), frozenset({"nzcv"})
    if mnemonic in _BITFIELD_ALIASES and operands:
        return frozenset(operands[1:]), writes
    if mnemonic == "ret":
        return reads | ({"x30"} if not operands else set()), writes
    if mnemonic == "mrs" and "nzcv" in insn.op_str:
        return reads | {"nzcv"}, writes
    if mnemonic == "msr" and "nzcv" in insn.op_str:
        return reads, writes | {"nzcv"}
    if mnemonic == "dc":
        return reads | frozenset(operands), writes
    return reads, writes


@lru_cache(maxsize=1)
def _engine() -> capstone.Cs:
    engine = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
    engine.detail = True
    return engine


def _names(insn: capstone.CsInsn, ids: list[int]) -> frozenset[str]:
    out = set()
    for reg in ids:
        name = normalise(insn.reg_name(reg))
        if name:
            out.add(name)
    return frozenset(out)


# State in the spec's names (vtlgen/isa/registers.py). A Z register is its low 128 bits (qN)
# and its share of `z_upper`, the spec's one name for the bits above 127 of all 32.
_SVE_STATE = frozenset([*(f"q{n}" for n in range(32)), *registers.SVE_STATE])
_VECTOR_UNIT = {"z": "vl", "p": "pl", "za": "svl"}


def _gpr(number: int, thirty_one: str | None) -> frozenset[str]:
    name = thirty_one if number == sve.SP else f"x{number}"
    return frozenset([name] if name else [])


def _sve_effects(insn: sve.SveInstruction) -> tuple[frozenset[str], frozenset[str]]:
    """Registers read and written, per the Arm ARM page of each form."""
    form, t = insn.form, insn.t
    kind = form.partition("_")[2]
    vector = frozenset([f"q{t}", "z_upper"] if kind == "z" else [f"p{t}"] if kind == "p" else ["za"])
    if form in ("ldr_z", "ldr_p", "ldr_za", "str_z", "str_p", "str_za"):
        # "LDR (array vector)": the slice is Wv + offset, so Wv is read as well as the base.
        address = _gpr(insn.n, "sp") | (frozenset([f"x{t}"]) if kind == "za" else frozenset())
        return (address, vector) if form.startswith("ldr") else (address | vector, frozenset())
    if form == "rdffr":
        return frozenset(["ffr"]), frozenset([f"p{t}"])
    if form == "wrffr":
        return frozenset([f"p{t}"]), frozenset(["ffr"])
    if form == "setffr":
        return frozenset(), frozenset(["ffr"])
    if form in ("addvl", "addpl"):
        return _gpr(insn.n, "sp"), _gpr(t, "sp")
    if form == "rdvl":
        return frozenset(), _gpr(t, None)  # register 31 is XZR here
    if form == "ptrue":  # PTRUE, unlike PTRUES, leaves NZCV alone
        return frozenset(), frozenset([f"p{t}"])
    if form == "zero_za":
        return frozenset(), frozenset(["za"])
    # SMSTART/SMSTOP: changing PSTATE.SM resets the SVE registers (Z, P, FFR to zero, FPSR
    # to its reset value); enabling or disabling ZA zeroes or discards ZA and ZT0. A write
    # happens only when the mode changes, so the mode is read too.
    reads: set[str] = set()
    writes: set[str] = set()
    if t in (0, 1):
        reads.add("svcr.sm")
        writes |= {"svcr.sm", "fpsr", *_SVE_STATE}
    if t in (0, 2):
        reads.add("svcr.za")
        writes |= {"svcr.za", "za", "zt0"}
    return frozenset(reads), frozenset(writes)


def _sve_decoded(offset: int, insn: sve.SveInstruction) -> Decoded:
    reads, writes = _sve_effects(insn)
    mnemonic, _, kind = insn.form.partition("_")
    vector_access, base = None, None
    if mnemonic in ("ldr", "str"):
        base = "sp" if insn.n == sve.SP else f"x{insn.n}"
        vector_access = VectorAccess(mnemonic == "str", base, insn.imm, _VECTOR_UNIT[kind])
    text = sve.disassemble(insn)
    memory = vector_access is not None
    return Decoded(offset, text, reads, writes, base, 0, False, False, memory, None, True, vector_access)


@lru_cache(maxsize=256)
def decode(code: bytes) -> tuple[Decoded, ...]:
    """Decode every 4-byte slot; undecodable words become `.word` entries."""
    out: list[Decoded] = []
    for offset in range(0, len(code), 4):
        word = code[offset : offset + 4]
        vector = sve.decode(int.from_bytes(word, "little")) if len(word) == 4 else None
        if vector is not None:
            out.append(_sve_decoded(offset, vector))
            continue
        insns = list(_engine().disasm(word, offset))
        if not insns:
            value = int.from_bytes(word, "little")
            # Undefined here; if it runs, the backend sees the exception it raises.
            text = f".word 0x{value:08x}"
            out.append(Decoded(offset, text, ANY_REGISTER, ANY_REGISTER, None, 0, False, False, True, None, False))
            continue
        insn = insns[0]
        raw_reads, raw_writes = insn.regs_access()
        reads, writes = _corrected(insn, _names(insn, raw_reads), _names(insn, raw_writes))
        exact = insn.mnemonic in _VETTED
        if not exact:
            reads, writes = ANY_REGISTER, ANY_REGISTER
        base, displacement, memory = None, 0, False
        for operand in insn.operands:
            if operand.type == arm64_const.ARM64_OP_MEM:
                memory = True
                base = normalise(insn.reg_name(operand.mem.base)) if operand.mem.base else None
                displacement = operand.mem.disp
        writeback = bool(getattr(insn, "writeback", False))
        # `[sp, #-16]!` (pre-index) has a displacement; `[sp], #16` (post-index) has none.
        pre_index = writeback and displacement != 0
        post_index = writeback and displacement == 0
        # Literal loads (`ldr x0, label`) and other forms are memory instructions too.
        # `dc zva` writes a whole block with no memory operand; an unknown instruction may too.
        memory = memory or insn.mnemonic.startswith(("ld", "st", "prfm", "cas", "swp", "dc")) or not exact
        access = _access(insn, base, displacement, post_index) if memory else None
        text = f"{insn.mnemonic} {insn.op_str}".strip()
        out.append(
            Decoded(
                offset,
                text,
                reads,
                writes,
                base,
                displacement,
                writeback,
                pre_index,
                memory,
                access,
                exact,
            )
        )
    return tuple(out)
