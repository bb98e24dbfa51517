"""A stub's text, vetted: only A64 instructions and labels reach an assembler.

A stub may come from a stranger's pull request, and both assemblers vtlgen drives read
more than instructions: keystone and GNU as honour `.incbin` and `.include` (reading host
files into the code), symbol assignments and alignment change the code's length, and
GNU as expands macros. So a stub is parsed here, statement by statement, after any label,
and rebuilt as *canonical text*: one label or one instruction per line, nothing else.
That text, never the stranger's, is what keystone and GNU as see.

The accepted statements:
- a label, `name:` or a numeric local label `1:` (GNU as, "Local Labels"); `1b`/`1f`
  references are renamed to unique labels, since keystone does not know them;
- an instruction whose mnemonic is in capstone's A64 instruction table (aliases included),
  or a conditional branch `b.<cond>`/`bc.<cond>`; operands use a plain character set (no
  quotes, backslashes, `=` or `@`, which only directives, literal pools or macros need);
- one of the SVE/SME forms vtlgen encodes itself (`vtlgen.isa.sve`), rebuilt as its canonical
  text; any other SVE/SME instruction is an error naming the forms vtlgen encodes;
- directives that do not change the code, dropped: `.text`, `.global`/`.globl`/`.local`/
  `.hidden`/`.type`/`.size` of a plain symbol, `.cfi_*`, alignment before the first
  instruction (the code region is aligned already), and `.arch <name>[+ext...]` and
  `.arch_extension sve|sme|sve2`, which only widen what GNU as accepts (vtlgen gives
  GNU as `-march=armv9-a+sve+sme` itself).
Everything else is a located error naming the statement's line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from vtlgen.guard.quoting import one_line
from vtlgen.isa import sve
from vtlgen.isa.encoding import CONDITION_CODES

INSTRUCTION_SIZE = 4  # every A64 instruction is 32 bits
# The code region every backend maps for the stub (unicorn's CODE window); a stub longer
# than it cannot run, so it is refused before anything is assembled.
CODE_REGION = 0x1_0000
MAX_INSTRUCTIONS = CODE_REGION // INSTRUCTION_SIZE
MAX_TEXT = 1 << 20  # bytes of stub text: generous for 16 Ki instructions with comments

_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_LABEL = re.compile(r"^\s*([A-Za-z_.][A-Za-z0-9_.]*|[0-9]+)\s*:(?!:)")
_SYMBOL = r"[A-Za-z_.][A-Za-z0-9_.]*"
_MNEMONIC = re.compile(r"^([A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z]{2})?)(?:\s+(.*))?$")
# What operands of A64 instructions need: registers, immediates, shifts, extends, lists,
# relocation operators (`:lo12:`), writeback (`]!`) and sums and products. Comparison,
# logical and shift operators are left out: keystone and GNU as evaluate them differently
# (GNU as makes a true comparison -1, keystone 1), so one text would be two programs.
_OPERANDS = re.compile(r"^[A-Za-z0-9_\s,#\[\]{}.:+\-*()]*(?:\]!)?[A-Za-z0-9_\s,#\[\]{}.:+\-*()]*$")
# Instructions whose last operand is a PC-relative target: a label, never a number, since
# the assemblers read a bare number there differently (an address or an offset).
_PC_RELATIVE = {"b", "bl", "cbz", "cbnz", "tbz", "tbnz", "adr", "adrp"}
_TARGET = re.compile(r"^(?:[A-Za-z_.][A-Za-z0-9_.]*|[0-9]+[bf])$")
_NUMERIC_REFERENCE = re.compile(r"(?<![\w.#])([0-9]+)([bf])\b")
_DROPPED_DIRECTIVES = {
    ".text": re.compile(r"^$"),
    ".global": re.compile(rf"^{_SYMBOL}$"),
    ".globl": re.compile(rf"^{_SYMBOL}$"),
    ".local": re.compile(rf"^{_SYMBOL}$"),
    ".hidden": re.compile(rf"^{_SYMBOL}$"),
    ".type": re.compile(rf"^{_SYMBOL}\s*,\s*[%@]function$"),
    ".size": re.compile(rf"^{_SYMBOL}\s*,\s*(\.\s*-\s*{_SYMBOL}|[0-9]+)$"),
    # GNU as, "AArch64 Machine Directives": `.arch` and `.arch_extension` select what the
    # assembler accepts and emit nothing.
    ".arch": re.compile(r"^armv[0-9]+(?:\.[0-9]+)?-a(?:\+[a-z0-9]+)*$", re.I),
    ".arch_extension": re.compile(r"^(?:sve|sme|sve2)$", re.I),
}
_ALIGNMENT = {".balign": 16, ".p2align": 4, ".align": 4}  # the largest value the code region's alignment covers
_CFI = re.compile(r"^\.cfi_[a-z_]+$")
_CFI_OPERANDS = re.compile(r"^[A-Za-z0-9_\s,\-+]*$")


class StubSyntaxError(ValueError):
    """A located problem in a stub's text: `file:line:1: message`."""

    def __init__(self, file: str, line: int, message: str):
        super().__init__(f"{file}:{line}:1: {message}")
        self.file, self.line, self.message = file, line, message


@dataclass(frozen=True)
class Statement:
    line: int  # 1-based line in the original text
    text: str  # the instruction, as rebuilt for the assemblers
    written: str  # the instruction as the author wrote it, for messages


@dataclass(frozen=True)
class VettedStub:
    canonical: str  # labels and instructions only: what the assemblers see
    instructions: tuple[Statement, ...]
    labels: tuple[str, ...]  # as written, in order


@lru_cache(maxsize=1)
def a64_mnemonics() -> frozenset[str]:
    """Capstone's A64 instruction table: every mnemonic it decodes, aliases included."""
    from capstone import arm64_const

    prefix = "ARM64_INS_"
    table = frozenset(
        name[len(prefix) :].lower()
        for name in dir(arm64_const)
        if name.startswith(prefix) and name not in (f"{prefix}INVALID", f"{prefix}ENDING")
    )
    return table | sve.MNEMONICS  # capstone 5 has them all; vtlgen encodes them whatever capstone knows


def printable(text: str, limit: int = 80) -> str:
    """A stranger's text, safe to put in one line of a message: escapes, cut to `limit`."""
    return one_line(text, limit)


def _strip_comments(text: str) -> list[str]:
    """Remove /* */ (keeping line breaks) and // comments, line by line."""
    text = _BLOCK_COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    return [line.split("//", 1)[0].rstrip() for line in text.split("\n")]


def _instruction(statement: str, file: str, number: int) -> str:
    match = _MNEMONIC.match(statement)
    if match is None:
        raise StubSyntaxError(file, number, f"not an instruction: `{printable(statement)}`")
    mnemonic, operands = match.group(1).lower(), (match.group(2) or "").strip()
    base, _, condition = mnemonic.partition(".")
    known = mnemonic in a64_mnemonics() if not condition else base in ("b", "bc") and condition in CONDITION_CODES
    if not known:
        raise StubSyntaxError(file, number, f"`{printable(mnemonic)}` is not an A64 instruction")
    pc_relative = base in _PC_RELATIVE or condition or (base in ("ldr", "ldrsw", "prfm") and "[" not in operands)
    canonical = _sve_statement(statement, mnemonic, operands, bool(pc_relative), file, number)
    if canonical is not None:
        return canonical
    if not _OPERANDS.match(operands):
        raise StubSyntaxError(
            file,
            number,
            f"operands of `{mnemonic}` hold characters a stub does not need (quotes, `=`, `@`, `\\`, `;`, "
            f"comparison, logical or shift operators): `{printable(operands)}`",
        )
    if pc_relative and not _TARGET.match(operands.rsplit(",", 1)[-1].strip()):
        raise StubSyntaxError(file, number, f"the target of `{mnemonic}` must be a label: `{printable(operands)}`")
    return f"{mnemonic} {operands}".rstrip()


def _sve_statement(
    statement: str, mnemonic: str, operands: str, pc_relative: bool, file: str, number: int
) -> str | None:
    """The canonical text of an SVE/SME form vtlgen encodes; None for any other instruction.

    An SVE/SME instruction outside those forms is an error here: keystone cannot assemble
    it, and vtlgen does not encode it. (A PC-relative target is a label, whatever its name.)"""
    try:
        word = sve.encode(statement)
    except ValueError as error:
        raise StubSyntaxError(file, number, printable(str(error), limit=600)) from None
    if word is not None:
        decoded = sve.decode(word)
        assert decoded is not None, "sve.decode reads every word sve.encode makes"
        return sve.disassemble(decoded)
    if not pc_relative and sve.names_sve_or_sme(mnemonic, operands):
        raise StubSyntaxError(
            file,
            number,
            f"`{printable(statement)}` is an SVE/SME instruction keystone cannot assemble; "
            f"vtlgen encodes only these SVE/SME forms: {sve.SUPPORTED}",
        )
    return None


def _directive(statement: str, seen_instruction: bool, file: str, number: int) -> None:
    """Accept a directive that changes nothing in the code (it is dropped), or raise."""
    name, _, rest = statement.partition(" ")
    name, rest = name.lower(), rest.strip()
    form = _DROPPED_DIRECTIVES.get(name)
    if form is not None and form.match(rest):
        return
    if name in _ALIGNMENT and rest.isdigit() and int(rest) <= _ALIGNMENT[name] and not seen_instruction:
        return
    if _CFI.match(name) and _CFI_OPERANDS.match(rest):
        return
    raise StubSyntaxError(
        file,
        number,
        f"directive `{printable(statement)}` is not allowed in a stub: a stub is flat A64 code "
        "(labels and instructions; .global/.type/.size of a plain symbol, .cfi_*, .arch and "
        ".arch_extension sve|sme|sve2 are ignored)",
    )


def vet(text: str, file: str = "<stub>") -> VettedStub:
    """Parse a stub; raise StubSyntaxError at the first statement that is not plain code."""
    if len(text) > MAX_TEXT:
        raise StubSyntaxError(file, 1, f"stub text is {len(text)} bytes; at most {MAX_TEXT} are read")
    for number, line in enumerate(text.split("\n"), start=1):
        bad = next((c for c in line if (ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F), None)
        if bad is not None:
            raise StubSyntaxError(file, number, f"control character {printable(bad)} in the stub")
    lines: list[str] = []
    instructions: list[Statement] = []
    labels: list[str] = []
    numeric_defined: dict[str, int] = {}  # numeric label -> how many times defined so far
    for number, line in enumerate(_strip_comments(text), start=1):
        body = line
        while (match := _LABEL.match(body)) is not None:
            name = match.group(1)
            labels.append(name)
            if name.isdigit():
                count = numeric_defined.get(name, 0)
                numeric_defined[name] = count + 1
                name = _local_name(name, count)
            lines.append(f"{name}:")
            body = body[match.end() :]
        statement = body.strip()
        if not statement:
            continue
        if '"' in statement or "'" in statement:
            raise StubSyntaxError(file, number, f"quotes have no place in a stub: `{printable(statement)}`")
        if ";" in statement:
            raise StubSyntaxError(file, number, "one statement per line, please (`;` separators)")
        if statement.startswith("#"):
            raise StubSyntaxError(file, number, "preprocessor line: run the C preprocessor first (`cpp`)")
        if statement.startswith("."):
            _directive(statement, bool(instructions), file, number)
            continue
        if len(instructions) >= MAX_INSTRUCTIONS:
            raise StubSyntaxError(
                file, number, f"more than {MAX_INSTRUCTIONS} instructions: the code region holds {CODE_REGION} bytes"
            )
        rebuilt = _rename_numeric_references(_instruction(statement, file, number), numeric_defined, file, number)
        lines.append(rebuilt)
        instructions.append(Statement(number, rebuilt, statement))
    for name, needed in _forward_uses(instructions).items():
        if needed > numeric_defined.get(name, 0):
            at = next(s.line for s in instructions if f"\0{name}:{needed - 1}\0" in s.text)
            raise StubSyntaxError(file, at, f"`{name}f` refers to no later `{name}:` label")
    canonical_lines = [_resolve_placeholders(line) for line in lines]
    statements = tuple(Statement(s.line, _resolve_placeholders(s.text), s.written) for s in instructions)
    if not statements:
        raise StubSyntaxError(file, 1, "no instructions")
    return VettedStub("\n".join(canonical_lines) + "\n", statements, tuple(labels))


def _local_name(name: str, index: int) -> str:
    return f".Lvtlgen_local_{name}_{index}"


def _rename_numeric_references(text: str, defined: dict[str, int], file: str, number: int) -> str:
    """`1b` becomes the latest `1:` so far; `1f` a placeholder for the next one, resolved at the end."""

    def rename(match: re.Match[str]) -> str:
        name, direction = match.group(1), match.group(2)
        count = defined.get(name, 0)
        if direction == "f":
            return f"\0{name}:{count}\0"  # the next definition will be the count-th (0-based)
        if count == 0:
            raise StubSyntaxError(file, number, f"`{name}b` refers to no earlier `{name}:` label")
        return _local_name(name, count - 1)

    return _NUMERIC_REFERENCE.sub(rename, text)


_PLACEHOLDER = re.compile(r"\0([0-9]+):([0-9]+)\0")


def _forward_uses(statements: list[Statement]) -> dict[str, int]:
    """For each numeric label referenced forward, the highest definition index needed, plus one."""
    needed: dict[str, int] = {}
    for statement in statements:
        for name, index in _PLACEHOLDER.findall(statement.text):
            needed[name] = max(needed.get(name, 0), int(index) + 1)
    return needed


def _resolve_placeholders(text: str) -> str:
    return _PLACEHOLDER.sub(lambda m: _local_name(m.group(1), int(m.group(2))), text)
