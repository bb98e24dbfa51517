"""Keystone behind one cached object, with the checks keystone itself does not make.

Only vetted text reaches keystone (`stubsource.vet`: labels and A64 instructions, nothing
that reads files or changes the code's length). Keystone 0.9.2 silently emits nothing for
illegal LDP/STP forms (Rt == Rt2, writeback base == data register), so the output length
is checked against the number of instructions: an empty or short result is an error,
never a pass. Keystone is C code that can loop forever on some inputs, so it runs in a
forked child under a time and memory limit (`sandbox.call_limited`).

Keystone knows no SVE or SME. The forms `vtlgen.isa.sve` encodes (vetting has already rebuilt
them as canonical text, and refused any other SVE/SME instruction) reach keystone as a
`nop`, an instruction of the same size, so labels and branch offsets across them are
unchanged; their words are patched in afterwards. `Assembly.canonical` keeps their text,
which GNU as assembles to the same words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from keystone import KS_ARCH_ARM64, KS_MODE_LITTLE_ENDIAN, Ks, KsError

from vtlgen.guard.sandbox import LimitExceeded, call_limited
from vtlgen.isa import sve
from vtlgen.isa.assembler_messages import explain
from vtlgen.isa.stubsource import INSTRUCTION_SIZE, StubSyntaxError, printable, vet

ASSEMBLY_SECONDS = 10.0  # keystone assembles the largest stub (16 Ki instructions) in well under 1 s

__all__ = ["INSTRUCTION_SIZE", "Assembly", "AssemblyError", "assemble"]


class AssemblyError(StubSyntaxError):
    """A stub that does not vet or does not assemble: `file:line:1: message`."""


@dataclass(frozen=True)
class Assembly:
    code: bytes
    source_lines: tuple[int, ...]  # 1-based source line of the instruction at index i
    source_text: tuple[str, ...]  # that instruction as written
    symbols: tuple[str, ...]  # labels, in order
    canonical: str  # the vetted text the code was assembled from; other assemblers get this too

    def line_of(self, offset: int) -> int:
        return self.source_lines[offset // INSTRUCTION_SIZE]

    def text_of(self, offset: int) -> str:
        return self.source_text[offset // INSTRUCTION_SIZE]


@lru_cache(maxsize=1)
def _engine() -> Ks:
    return Ks(KS_ARCH_ARM64, KS_MODE_LITTLE_ENDIAN)


def _keystone(canonical: str, statements: tuple[str, ...]) -> tuple[bytes, int | None, str]:
    """Runs in the limited child: the code, or the index of the first statement at fault and why."""
    try:
        encoding, _ = _engine().asm(canonical, 0)
        code = bytes(encoding or b"")
    except KsError:
        code = b""
    if len(code) == INSTRUCTION_SIZE * len(statements):
        return code, None, ""
    for index, statement in enumerate(statements):
        try:
            encoding, _ = _engine().asm(statement, 0)
        except KsError as error:
            if "SYMBOL" in str(error).upper():
                continue  # a branch to a label: fine in context
            return b"", index, f"cannot assemble: {explain(statement, str(error))}"
        if not encoding or len(encoding) != INSTRUCTION_SIZE:
            return b"", index, "assembled to nothing (an illegal LDP/STP form?)"
    return b"", None, "keystone's output does not match the instruction count"


_PLACEHOLDER = "nop"  # what keystone assembles in place of an SVE/SME statement: 4 bytes, like it
_LABEL_LINE = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*:$")


def _for_keystone(canonical: str) -> tuple[str, dict[int, int]]:
    """The canonical text with SVE/SME statements replaced, and their words by instruction index."""
    lines, words, index = [], {}, 0
    for line in canonical.splitlines():
        if _LABEL_LINE.match(line):  # vetted text has one label or one instruction per line
            lines.append(line)
            continue
        word = sve.encode(line)
        if word is not None:
            words[index] = word
        lines.append(_PLACEHOLDER if word is not None else line)
        index += 1
    return "\n".join(lines) + "\n", words


def _patched(code: bytes, words: dict[int, int]) -> bytes:
    out = bytearray(code)
    for index, word in words.items():
        out[index * INSTRUCTION_SIZE : (index + 1) * INSTRUCTION_SIZE] = word.to_bytes(INSTRUCTION_SIZE, "little")
    return bytes(out)


@lru_cache(maxsize=512)
def assemble(text: str, file: str = "<stub>") -> Assembly:
    try:
        vetted = vet(text, file)
    except StubSyntaxError as error:
        raise AssemblyError(error.file, error.line, error.message) from None
    for_keystone, sve_words = _for_keystone(vetted.canonical)
    assert all(sve.encode(vetted.instructions[i].text) == w for i, w in sve_words.items()), "canonical lines align"
    statements = tuple(_PLACEHOLDER if i in sve_words else s.text for i, s in enumerate(vetted.instructions))
    _engine()  # made once here, so every limited child inherits it instead of building its own
    try:
        code, at, why = call_limited(_keystone, for_keystone, statements, seconds=ASSEMBLY_SECONDS)
    except LimitExceeded as error:
        raise AssemblyError(file, 1, f"keystone gave up: {error}") from None
    if at is not None:
        statement = vetted.instructions[at]
        raise AssemblyError(file, statement.line, f"`{printable(statement.written)}` {printable(why, limit=300)}")
    if not code:
        raise AssemblyError(file, 1, why)
    return Assembly(
        code=_patched(code, sve_words),
        source_lines=tuple(s.line for s in vetted.instructions),
        source_text=tuple(s.written for s in vetted.instructions),
        symbols=vetted.labels,
        canonical=vetted.canonical,
    )
