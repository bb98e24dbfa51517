"""Keystone behind one cached object, with the checks keystone itself does not make.

Only vetted text reaches keystone (`stubsource.vet`: labels and A64 instructions, nothing
that reads files or changes the code's length). Keystone 0.9.2 silently emits nothing for
illegal LDP/STP forms (Rt == Rt2, writeback base == data register), so the output length
is checked against the number of instructions: an empty or short result is an error,
never a pass. Keystone is C code that can loop forever on some inputs, so it runs in a
forked child under a time and memory limit (`sandbox.call_limited`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from keystone import KS_ARCH_ARM64, KS_MODE_LITTLE_ENDIAN, Ks, KsError

from vtlgen.sandbox import LimitExceeded, call_limited
from vtlgen.stubsource import INSTRUCTION_SIZE, StubSyntaxError, printable, vet

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
            return b"", index, f"cannot assemble: {error}"
        if not encoding or len(encoding) != INSTRUCTION_SIZE:
            return b"", index, "assembled to nothing (an illegal LDP/STP form?)"
    return b"", None, "keystone's output does not match the instruction count"


@lru_cache(maxsize=512)
def assemble(text: str, file: str = "<stub>") -> Assembly:
    try:
        vetted = vet(text, file)
    except StubSyntaxError as error:
        raise AssemblyError(error.file, error.line, error.message) from None
    statements = tuple(s.text for s in vetted.instructions)
    _engine()  # made once here, so every limited child inherits it instead of building its own
    try:
        code, at, why = call_limited(_keystone, vetted.canonical, statements, seconds=ASSEMBLY_SECONDS)
    except LimitExceeded as error:
        raise AssemblyError(file, 1, f"keystone gave up: {error}") from None
    if at is not None:
        statement = vetted.instructions[at]
        raise AssemblyError(file, statement.line, f"`{printable(statement.written)}` {printable(why, limit=300)}")
    if not code:
        raise AssemblyError(file, 1, why)
    return Assembly(
        code=code,
        source_lines=tuple(s.line for s in vetted.instructions),
        source_text=tuple(s.written for s in vetted.instructions),
        symbols=vetted.labels,
        canonical=vetted.canonical,
    )
