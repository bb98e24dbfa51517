"""Why keystone refused a statement, in words a stub's author can act on.

Keystone reports most refusals as "Unknown error": it knows an operand did not match an
encoding but not which rule it broke. The statement says: each kind of refusal (an immediate
a `mov` cannot build, an add/sub immediate over 12 bits, a load/store offset out of range, a
register that does not exist, an unknown mnemonic) has one explanation here, keyed by the
mnemonic's family; a statement of no known family gets keystone's words and where to look.
Encodings: Arm ARM (DDI 0487) C6.2, MOVZ/MOVK/MOVN, ADD (immediate), LDR (immediate), LDP.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from vtlgen.isa.encoding import ADD_LIMIT, PAIR_MAX, PAIR_MIN, SINGLE_LIMIT

_IMMEDIATE = re.compile(r"#\s*(-?(?:0x[0-9a-fA-F]+|\d+))")
_REGISTER_TOKEN = re.compile(r"\b([xwqdsbhvzp])(\d+)\b")
_REGISTER_COUNT = {"x": 31, "w": 31, "q": 32, "d": 32, "s": 32, "b": 32, "h": 32, "v": 32, "z": 32, "p": 16}
_ACCESS_BYTES = {"x": 8, "w": 4, "q": 16, "d": 8, "s": 4, "h": 2, "b": 1}
UNSCALED_MIN, UNSCALED_MAX = -256, 255  # LDUR/STUR's 9-bit signed offset
HALFWORD = 0xFFFF


def _immediates(statement: str) -> list[int]:
    return [int(text, 0) for text in _IMMEDIATE.findall(statement)]


def _operands(statement: str) -> list[str]:
    return [part.strip() for part in statement.split(None, 1)[1].split(",")] if " " in statement.strip() else []


def movz_movk(register: str, value: int) -> list[str]:
    """The movz/movk sequence that builds `value` in `register`, 16 bits at a time."""
    bits = 64 if register.startswith("x") else 32
    value &= (1 << bits) - 1
    parts = [(shift, (value >> shift) & HALFWORD) for shift in range(0, bits, 16)]
    nonzero = [(shift, half) for shift, half in parts if half] or [(0, 0)]
    lines = []
    for n, (shift, half) in enumerate(nonzero):
        lsl = f", lsl #{shift}" if shift else ""
        lines.append(f"{'movz' if n == 0 else 'movk'} {register}, #0x{half:x}{lsl}")
    return lines


def _move(statement: str, mnemonic: str) -> str | None:
    operands, values = _operands(statement), _immediates(statement)
    if not operands or not values:
        return None
    register, value = operands[0], values[0]
    bits = 64 if register.startswith("x") else 32
    if value >= 1 << bits or value < -(1 << (bits - 1)):
        return f"{value:#x} does not fit in the {bits}-bit register {register}"
    if mnemonic in ("movz", "movk", "movn"):
        return (
            f"{value:#x} is not a 16-bit immediate: {mnemonic} takes 0..0xffff, shifted by "
            f"`lsl #0`, `#16`{', `#32` or `#48`' if bits == 64 else ''}"
        )
    build = "; ".join(movz_movk(register, value))
    return (
        f"{value:#x} is not a 16-bit immediate (nor its inverse, nor a logical bit pattern), so one "
        f"mov cannot build it: use movz/movk, e.g. `{build}`"
    )


def _add_sub(statement: str, mnemonic: str) -> str | None:
    values = _immediates(statement)
    if not values or 0 <= values[0] <= ADD_LIMIT:
        return None
    return (
        f"{values[0]:#x} does not fit {mnemonic}'s 12-bit immediate: expected 0..{ADD_LIMIT:#x}, or a "
        f"multiple of 0x1000 up to {ADD_LIMIT << 12:#x} written `#n, lsl #12`; build a larger value in a "
        "register with movz/movk"
    )


def _load_store(statement: str, mnemonic: str) -> str | None:
    operands, values = _operands(statement), _immediates(statement)
    if not operands or not values or "[" not in statement:
        return None
    size = _ACCESS_BYTES.get(operands[0][:1], 8)
    if mnemonic.endswith("b"):
        size = 1
    elif mnemonic.endswith("h"):
        size = 2
    offset = values[-1]
    if mnemonic in ("ldp", "stp", "ldnp", "stnp"):
        low, high = PAIR_MIN * size, PAIR_MAX * size
        return (
            f"offset {offset} is out of {mnemonic}'s range: expected a multiple of {size} in {low}..{high}; "
            "move the base register first (add/sub) for a farther slot"
        )
    return (
        f"offset {offset} is out of {mnemonic}'s range: expected a multiple of {size} in "
        f"0..{SINGLE_LIMIT * size}, or any offset in {UNSCALED_MIN}..{UNSCALED_MAX}; move the base "
        "register first (add/sub) for a farther slot"
    )


# The families, by mnemonic.
FAMILIES: dict[str, Callable[[str, str], str | None]] = {
    **dict.fromkeys(("mov", "movz", "movk", "movn"), _move),
    **dict.fromkeys(("add", "adds", "sub", "subs", "cmp", "cmn"), _add_sub),
    **dict.fromkeys(
        ("ldr", "str", "ldrb", "strb", "ldrh", "strh", "ldp", "stp", "ldnp", "stnp", "ldur", "stur"), _load_store
    ),
}


def _bad_register(statement: str) -> str | None:
    for prefix, number in _REGISTER_TOKEN.findall(statement.split(None, 1)[1] if " " in statement else ""):
        count = _REGISTER_COUNT[prefix]
        if int(number) >= count:
            return f"{prefix}{number} is not a register: expected {prefix}0-{prefix}{count - 1}"
    return None


def explain(statement: str, keystone_message: str) -> str:
    """What is wrong with a statement keystone refused, and what is expected."""
    mnemonic = statement.split(None, 1)[0].lower() if statement.strip() else ""
    if "MNEMONICFAIL" in keystone_message:
        return f"{mnemonic!r} is not an A64 instruction keystone knows; expected an Arm ARM C6 mnemonic"
    reason = _bad_register(statement)
    family = FAMILIES.get(mnemonic)
    if reason is None and family is not None:
        reason = family(statement, mnemonic)
    if reason is not None:
        return reason
    return (
        f"keystone cannot encode `{statement}` ({keystone_message}); expected operands of one of "
        f"{mnemonic}'s forms in the Arm ARM, C6.2"
    )
