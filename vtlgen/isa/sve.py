"""The few SVE and SME instructions vtlgen encodes itself: keystone 0.9.2 knows neither.

Pure data and functions, no I/O. `encode` reads one statement in GNU as syntax and gives
its word, `decode` reads a word back, and `disassemble` prints the canonical text, which
GNU as (`-march=armv9-a+sve+sme`) and llvm-mc (`-mattr=+sve,+sme`) assemble to the same
word (tests/isa/test_sve.py checks every form against both).

Encodings follow the Arm Architecture Reference Manual for A-profile (DDI 0487), the
instruction pages named at each form below, and Arm's SME supplement (DDI 0616) for
SMSTART, SMSTOP, ZERO and LDR/STR (array vector). A "mul vl" immediate counts whole
vectors (VL bytes for Z, VL/8 for P, SVL bytes for a ZA slice), so what it addresses
depends on the vector length, which is only known when the code runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FORMS = (
    "ldr_z",
    "str_z",
    "ldr_p",
    "str_p",
    "rdffr",
    "wrffr",
    "setffr",
    "addvl",
    "addpl",
    "rdvl",
    "ptrue",
    "smstart",
    "smstop",
    "zero_za",
    "ldr_za",
    "str_za",
)

# What a message tells an author who wrote an SVE/SME instruction vtlgen does not encode.
SUPPORTED = (
    "ldr/str zT, [xN|sp{, #imm, mul vl}]; ldr/str pT, [xN|sp{, #imm, mul vl}]; rdffr pD.b; wrffr pN.b; setffr; "
    "addvl/addpl xD|sp, xN|sp, #imm; rdvl xD, #imm; ptrue pD.<b|h|s|d>; smstart/smstop {sm|za}; zero {za}; "
    "ldr/str za[w12-w15, imm], [xN|sp{, #imm, mul vl}]"
)

SP = 31  # register number 31 is SP as a base and for addvl/addpl; XZR for rdvl
ELEMENT_SIZES = ("b", "h", "s", "d")
# SMSTART/SMSTOP are MSR (immediate) to SVCRSM, SVCRZA or SVCRSMZA; `t` picks which.
STREAMING_TARGETS = ("", "sm", "za")  # t = 0: both, 1: SVCR.SM, 2: SVCR.ZA
_SVCR_MASK = (0b11, 0b01, 0b10)  # CRm<2:1> for t


@dataclass(frozen=True)
class SveInstruction:
    form: str  # one of FORMS
    t: int = 0  # Zt / Pt / Pd / Pn / Xd / Wv(12-15 for ZA) register number
    n: int = 0  # base or source Xn (31 = SP for ldr/str bases and addvl/addpl source/dest)
    imm: int = 0  # signed immediate: "mul vl" multiple; addvl/addpl/rdvl multiplier; ZA slice offset (0-15)
    size: str = ""  # ptrue element size b/h/s/d (pattern ALL only)


# Fixed bits of each form (value, mask), from the encoding diagrams of the Arm ARM pages:
# "LDR (vector)", "STR (vector)", "LDR (predicate)", "STR (predicate)", "RDFFR (unpredicated)",
# "WRFFR", "SETFFR", "ADDVL", "ADDPL", "RDVL", "PTRUE", "SMSTART", "SMSTOP", "ZERO",
# "LDR (array vector)" and "STR (array vector)".
_FIXED: dict[str, tuple[int, int]] = {
    "ldr_z": (0x85804000, 0xFFC0E000),
    "str_z": (0xE5804000, 0xFFC0E000),
    "ldr_p": (0x85800000, 0xFFC0E010),
    "str_p": (0xE5800000, 0xFFC0E010),
    "rdffr": (0x2519F000, 0xFFFFFFF0),
    "wrffr": (0x25289000, 0xFFFFFE1F),
    "setffr": (0x252C9000, 0xFFFFFFFF),
    "addvl": (0x04205000, 0xFFE0F800),
    "addpl": (0x04605000, 0xFFE0F800),
    "rdvl": (0x04BF5000, 0xFFFFF800),
    "ptrue": (0x2518E3E0, 0xFF3FFFF0),  # pattern field (bits 9:5) = 0b11111, ALL
    "smstart": (0xD503417F, 0xFFFFF9FF),  # MSR (immediate), op1 = 011, CRn = 0100, CRm<0> = 1
    "smstop": (0xD503407F, 0xFFFFF9FF),  # the same with CRm<0> = 0
    "zero_za": (0xC00800FF, 0xFFFFFFFF),  # ZERO { <mask> } with all eight ZA.D tiles
    "ldr_za": (0xE1000000, 0xFFFF9C10),
    "str_za": (0xE1200000, 0xFFFF9C10),
}
_MUL_VL_RANGE = (-256, 255)  # imm9, LDR/STR (vector) and (predicate)
_MULTIPLIER_RANGE = (-32, 31)  # imm6, ADDVL/ADDPL/RDVL
_SLICE_RANGE = (0, 15)  # offs4, LDR/STR (array vector)


def _check(insn: SveInstruction) -> None:
    """Raise ValueError when `insn` is not something its form can encode."""
    form, t, n, imm = insn.form, insn.t, insn.n, insn.imm
    if form not in FORMS:
        raise ValueError(f"unknown SVE/SME form {form!r}")
    low_t, high_t, low_imm, high_imm = 0, 0, 0, 0
    if form in ("ldr_z", "str_z"):
        high_t, (low_imm, high_imm) = 31, _MUL_VL_RANGE
    elif form in ("ldr_p", "str_p"):
        high_t, (low_imm, high_imm) = 15, _MUL_VL_RANGE
    elif form in ("rdffr", "wrffr", "ptrue"):
        high_t = 15
    elif form in ("addvl", "addpl", "rdvl"):
        high_t, (low_imm, high_imm) = 31, _MULTIPLIER_RANGE
    elif form in ("smstart", "smstop"):
        high_t = 2
    elif form in ("ldr_za", "str_za"):
        (low_t, high_t), (low_imm, high_imm) = (12, 15), _SLICE_RANGE
    if not low_t <= t <= high_t:
        raise ValueError(f"{form}: register {t} out of range {low_t}..{high_t}")
    if not low_imm <= imm <= high_imm:
        raise ValueError(f"{form}: immediate {imm} out of range {low_imm}..{high_imm}")
    has_base = form in ("ldr_z", "str_z", "ldr_p", "str_p", "ldr_za", "str_za", "addvl", "addpl")
    if not (0 <= n <= 31 and (has_base or n == 0)):
        raise ValueError(f"{form}: source register {n} out of range")
    if (insn.size != "") != (form == "ptrue") or (form == "ptrue" and insn.size not in ELEMENT_SIZES):
        raise ValueError(f"{form}: element size {insn.size!r} (only ptrue has one: b, h, s or d)")


def word_of(insn: SveInstruction) -> int:
    """The instruction word; ValueError if `insn` is out of its form's range."""
    _check(insn)
    form, t, n, imm = insn.form, insn.t, insn.n, insn.imm
    word = _FIXED[form][0]
    if form in ("ldr_z", "str_z", "ldr_p", "str_p"):
        imm9 = imm & 0x1FF  # imm9h:imm9l, bits 21:16 and 12:10
        return word | (imm9 >> 3) << 16 | (imm9 & 7) << 10 | n << 5 | t
    if form == "rdffr":
        return word | t
    if form == "wrffr":
        return word | t << 5
    if form in ("addvl", "addpl"):
        return word | n << 16 | (imm & 0x3F) << 5 | t
    if form == "rdvl":
        return word | (imm & 0x3F) << 5 | t
    if form == "ptrue":
        return word | ELEMENT_SIZES.index(insn.size) << 22 | t
    if form in ("smstart", "smstop"):
        return word | _SVCR_MASK[t] << 9
    if form in ("ldr_za", "str_za"):
        return word | (t - 12) << 13 | n << 5 | imm
    return word  # setffr, zero_za: no operands


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value >> (bits - 1) else value


def decode(word: int) -> SveInstruction | None:
    """The instruction a word encodes, if it is one of FORMS; None otherwise."""
    form = next((f for f, (value, mask) in _FIXED.items() if word & mask == value), None)
    if form is None:
        return None
    rd, rn = word & 0x1F, (word >> 5) & 0x1F
    if form in ("ldr_z", "str_z", "ldr_p", "str_p"):
        imm9 = ((word >> 16) & 0x3F) << 3 | (word >> 10) & 7
        return SveInstruction(form, rd, rn, _signed(imm9, 9))
    if form == "rdffr":
        return SveInstruction(form, word & 0xF)
    if form == "wrffr":
        return SveInstruction(form, (word >> 5) & 0xF)
    if form in ("addvl", "addpl"):
        return SveInstruction(form, rd, (word >> 16) & 0x1F, _signed((word >> 5) & 0x3F, 6))
    if form == "rdvl":
        return SveInstruction(form, rd, 0, _signed((word >> 5) & 0x3F, 6))
    if form == "ptrue":
        return SveInstruction(form, word & 0xF, size=ELEMENT_SIZES[(word >> 22) & 3])
    if form in ("smstart", "smstop"):
        mask = (word >> 9) & 3
        return SveInstruction(form, _SVCR_MASK.index(mask)) if mask else None  # CRm<2:1> = 00 is unallocated
    if form in ("ldr_za", "str_za"):
        return SveInstruction(form, 12 + ((word >> 13) & 3), rn, word & 0xF)
    return SveInstruction(form)


def _x(number: int, thirty_one: str) -> str:
    return thirty_one if number == SP else f"x{number}"


def _address(insn: SveInstruction) -> str:
    base = _x(insn.n, "sp")
    return f"[{base}, #{insn.imm}, mul vl]" if insn.imm else f"[{base}]"


def disassemble(insn: SveInstruction) -> str:
    """Canonical GNU as text, e.g. "ldr z3, [x9, #-2, mul vl]"; ValueError if out of range."""
    _check(insn)
    form, t, mnemonic = insn.form, insn.t, insn.form.split("_")[0]
    if form in ("ldr_z", "str_z"):
        return f"{mnemonic} z{t}, {_address(insn)}"
    if form in ("ldr_p", "str_p"):
        return f"{mnemonic} p{t}, {_address(insn)}"
    if form in ("rdffr", "wrffr"):
        return f"{form} p{t}.b"
    if form in ("addvl", "addpl"):
        return f"{form} {_x(t, 'sp')}, {_x(insn.n, 'sp')}, #{insn.imm}"
    if form == "rdvl":
        return f"rdvl {_x(t, 'xzr')}, #{insn.imm}"
    if form == "ptrue":
        return f"ptrue p{t}.{insn.size}"
    if form in ("smstart", "smstop"):
        return f"{form} {STREAMING_TARGETS[t]}".rstrip()
    if form == "zero_za":
        return "zero {za}"
    if form in ("ldr_za", "str_za"):
        return f"{mnemonic} za[w{t}, {insn.imm}], {_address(insn)}"
    return form  # setffr


# --- reading GNU as syntax ---------------------------------------------------------------

_NUMBER = r"[1-9]?[0-9]"  # a register number without leading zeros, as GNU as spells it
_IMMEDIATE = re.compile(r"^#?\s*([+-]?)\s*(0x[0-9a-f]+|[0-9]+)$")
_GPR = re.compile(rf"^(?:x({_NUMBER})|(sp)|(xzr))$")
_MEMORY = re.compile(r"^\[\s*([a-z0-9]+)\s*(?:,\s*([^,\]]*?)\s*,\s*mul\s+vl\s*)?\]$")
_ZA_SLICE = re.compile(rf"^za\s*\[\s*w({_NUMBER})\s*,\s*([^\]]*?)\s*\]$")
_SVE_TRANSFER = re.compile(r"^(?:[zp][0-9]+\b|za\s*\[)")  # what makes an ldr/str one of FORMS
_LONGEST = 120  # characters: the longest form, spaced out generously
_SVE_ONLY_MNEMONICS = frozenset(("rdffr", "wrffr", "setffr", "addvl", "addpl", "rdvl", "ptrue", "smstart", "smstop"))
MNEMONICS = _SVE_ONLY_MNEMONICS | {"ldr", "str", "zero"}  # every mnemonic of FORMS


def _split_operands(rest: str) -> list[str]:
    """Operands separated by commas outside [] and {}; in one pass."""
    if not rest.strip():
        return []
    out, depth, start = [], 0, 0
    for at, char in enumerate(rest):
        depth += (char in "[{") - (char in "]}")
        if char == "," and depth == 0:
            out.append(rest[start:at].strip())
            start = at + 1
    return [*out, rest[start:].strip()]


def _immediate(text: str, low: int, high: int, what: str) -> int:
    match = _IMMEDIATE.match(text.strip())
    if match is None:
        raise ValueError(f"{what} must be a number, not `{text.strip()}`")
    value = int(match.group(2), 0)
    value = -value if match.group(1) == "-" else value
    if not low <= value <= high:
        raise ValueError(f"{what} {value} is out of range {low}..{high}")
    return value


def _gpr(text: str, sp: bool, zr: bool, what: str) -> int:
    """x0-x30, and SP or XZR where the form allows it (both are number 31)."""
    match = _GPR.match(text.strip())
    allowed = "x0-x30" + (" or sp" if sp else "") + (" or xzr" if zr else "")
    if match is None or (match.group(2) and not sp) or (match.group(3) and not zr):
        raise ValueError(f"{what} must be {allowed}, not `{text.strip()}`")
    if match.group(1) is None:
        return SP
    if int(match.group(1)) > 30:
        raise ValueError(f"{what} must be {allowed}, not `{text.strip()}`")
    return int(match.group(1))


def _numbered(text: str, prefix: str, high: int, what: str, suffix: str = "") -> int:
    match = re.fullmatch(rf"{prefix}({_NUMBER}){re.escape(suffix)}", text.strip())
    if match is None or int(match.group(1)) > high:
        raise ValueError(f"{what} must be {prefix}0{suffix}-{prefix}{high}{suffix}, not `{text.strip()}`")
    return int(match.group(1))


def _memory(text: str, low: int, high: int) -> tuple[int, int]:
    """`[xN|sp{, #imm, mul vl}]`: the base and the multiple of the vector length."""
    match = _MEMORY.match(text.strip())
    if match is None:
        raise ValueError(f"expected an address `[xN|sp]` or `[xN|sp, #imm, mul vl]`, not `{text.strip()}`")
    base = _gpr(match.group(1), True, False, "the base register")
    imm = _immediate(match.group(2), low, high, "the mul vl offset") if match.group(2) is not None else 0
    return base, imm


def _expect(operands: list[str], count: int, mnemonic: str, shape: str) -> None:
    if len(operands) != count:
        raise ValueError(f"`{mnemonic}` takes {shape}; vtlgen encodes only these SVE/SME forms: {SUPPORTED}")


def _parse(mnemonic: str, operands: list[str]) -> SveInstruction | None:
    first = operands[0] if operands else ""
    if mnemonic in ("ldr", "str"):
        if re.match(r"^za\s*\[", first):
            _expect(operands, 2, mnemonic, f"`{mnemonic} za[wV, imm], [xN|sp, #imm, mul vl]`")
            slice_match = _ZA_SLICE.match(first)
            if slice_match is None:
                raise ValueError(f"expected `za[w12-w15, imm]`, not `{first}`")
            v = int(slice_match.group(1))
            if not 12 <= v <= 15:
                raise ValueError(f"the slice index register must be w12-w15, not `w{slice_match.group(1)}`")
            offset = _immediate(slice_match.group(2), *_SLICE_RANGE, "the ZA slice offset")
            base, imm = _memory(operands[1], *_SLICE_RANGE)
            if imm != offset:
                raise ValueError(f"the mul vl offset ({imm}) must equal the slice offset ({offset})")
            return SveInstruction(f"{mnemonic}_za", v, base, offset)
        kind = first[:1]  # z or p: `encode` passes only these and ZA transfers here
        _expect(operands, 2, mnemonic, f"`{mnemonic} {kind}T, [xN|sp, #imm, mul vl]`")
        t = _numbered(first, kind, 31 if kind == "z" else 15, "the transfer register")
        base, imm = _memory(operands[1], *_MUL_VL_RANGE)
        return SveInstruction(f"{mnemonic}_{kind}", t, base, imm)
    if mnemonic == "zero":
        if [re.sub(r"\s+", "", o) for o in operands] != ["{za}"]:
            raise ValueError(f"vtlgen encodes only `zero {{za}}`, not `zero {', '.join(operands)}`")
        return SveInstruction("zero_za")
    if mnemonic in ("smstart", "smstop"):
        if len(operands) > 1 or first not in STREAMING_TARGETS:
            raise ValueError(f"`{mnemonic}` takes nothing, `sm` or `za`, not `{', '.join(operands)}`")
        return SveInstruction(mnemonic, STREAMING_TARGETS.index(first))
    if mnemonic == "setffr":
        _expect(operands, 0, mnemonic, "no operands")
        return SveInstruction("setffr")
    if mnemonic in ("rdffr", "wrffr"):
        _expect(operands, 1, mnemonic, f"one operand, `{mnemonic} p0.b` (unpredicated)")
        return SveInstruction(mnemonic, _numbered(first, "p", 15, "the predicate", ".b"))
    if mnemonic in ("addvl", "addpl"):
        _expect(operands, 3, mnemonic, f"`{mnemonic} xD|sp, xN|sp, #imm`")
        d = _gpr(operands[0], True, False, "the destination")
        n = _gpr(operands[1], True, False, "the source")
        return SveInstruction(mnemonic, d, n, _immediate(operands[2], *_MULTIPLIER_RANGE, "the multiplier"))
    if mnemonic == "rdvl":
        _expect(operands, 2, mnemonic, "`rdvl xD, #imm`")
        d = _gpr(operands[0], False, True, "the destination")
        return SveInstruction("rdvl", d, 0, _immediate(operands[1], *_MULTIPLIER_RANGE, "the multiplier"))
    if mnemonic == "ptrue":
        if len(operands) == 2 and operands[1] == "all":
            operands = operands[:1]
        _expect(operands, 1, mnemonic, "`ptrue pD.<b|h|s|d>` (pattern ALL only)")
        match = re.fullmatch(rf"p({_NUMBER})\.([bhsd])", first)
        if match is None or int(match.group(1)) > 15:
            raise ValueError(f"expected `p0-p15.<b|h|s|d>`, not `{first}`")
        return SveInstruction("ptrue", int(match.group(1)), size=match.group(2))
    return None


def encode(text: str) -> int | None:
    """The word for one statement in GNU as syntax, if it is one of FORMS.

    None when the statement is not one of these forms (an ordinary A64 instruction, or an
    SVE/SME instruction of another mnemonic); ValueError(reason) for one of these forms
    with operands out of range, the wrong registers or a syntax vtlgen does not read."""
    statement = " ".join(text.strip().lower().split())
    mnemonic, _, rest = statement.partition(" ")
    if mnemonic not in MNEMONICS or (mnemonic in ("ldr", "str") and not _SVE_TRANSFER.match(rest)):
        return None
    if len(statement) > _LONGEST:
        raise ValueError(f"`{' '.join(text.split())[:_LONGEST]}...` is too long for an SVE/SME statement")
    operands = _split_operands(rest)
    try:
        insn = _parse(mnemonic, operands)
    except ValueError as error:
        raise ValueError(f"`{' '.join(text.split())}`: {error}") from None
    return None if insn is None else word_of(insn)


# Operands that name SVE/SME state (Z, P, PN, ZA and its tiles, ZT0, SVCR, "mul vl"), and
# mnemonics of SVE/SME instructions whose operands are all general-purpose registers or
# immediates ("CNTB, CNTD, CNTH, CNTW", "INCB, INCD, INCH, INCW (scalar)", ... "RDSVL").
_SVE_OPERAND = re.compile(
    r"(?<![\w.:])(?:z[0-9]+|pn?[0-9]+|za(?:[0-9]+[hv]?)?|zt0|ffr|svcr(?:sm|za|smza)?)(?![\w])"
    r"|\bmul\s+vl\b|\bvgx[24]\b"
)
_SVE_SCALAR_MNEMONICS = frozenset(
    [
        *_SVE_ONLY_MNEMONICS,
        "addsvl",
        "addspl",
        "rdsvl",
        *(f"{op}{unit}" for op in ("cnt", "inc", "dec", "sqinc", "sqdec", "uqinc", "uqdec") for unit in "bhwd"),
    ]
)


def names_sve_or_sme(mnemonic: str, operands: str) -> bool:
    """Whether a statement is an SVE/SME instruction (for a message; `encode` decides what is encoded)."""
    return mnemonic.lower() in _SVE_SCALAR_MNEMONICS or bool(_SVE_OPERAND.search(operands.lower()))
