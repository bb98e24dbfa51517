"""Keystone behind one cached object, with the checks keystone itself does not make.

Keystone 0.9.2 silently emits nothing for illegal LDP/STP forms
and for `.inst`, crashes on `.text`, and rejects `.size` and trailing `//` comments.
So the source is cleaned first, and the output length is checked against the number of
instruction lines: an empty or short result is an error, never a pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from keystone import KS_ARCH_ARM64, KS_MODE_LITTLE_ENDIAN, Ks, KsError

INSTRUCTION_SIZE = 4  # every A64 instruction is 32 bits

# Directives that change nothing in a single-section, position-independent stub.
_IGNORED = {".text", ".size", ".cfi_startproc", ".cfi_endproc"}
# Directives keystone handles correctly.
_KEPT = {".global", ".globl", ".type", ".balign", ".p2align", ".align", ".local", ".hidden"}

_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_LABEL = re.compile(r"^\s*([A-Za-z_.$][A-Za-z0-9_.$]*)\s*:")


class AssemblyError(ValueError):
    def __init__(self, file: str, line: int, message: str):
        super().__init__(f"{file}:{line}:1: {message}")
        self.file, self.line, self.message = file, line, message


@dataclass(frozen=True)
class Assembly:
    code: bytes
    source_lines: tuple[int, ...]  # 1-based source line of the instruction at index i
    source_text: tuple[str, ...]  # that instruction as written
    symbols: tuple[str, ...]  # labels, in order

    def line_of(self, offset: int) -> int:
        return self.source_lines[offset // INSTRUCTION_SIZE]

    def text_of(self, offset: int) -> str:
        return self.source_text[offset // INSTRUCTION_SIZE]


@lru_cache(maxsize=1)
def _engine() -> Ks:
    return Ks(KS_ARCH_ARM64, KS_MODE_LITTLE_ENDIAN)


def _strip_comments(text: str) -> list[str]:
    """Remove /* */ (keeping line breaks) and // comments, line by line."""
    text = _BLOCK_COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    return [line.split("//", 1)[0].rstrip() for line in text.split("\n")]


def _clean(text: str, file: str) -> tuple[list[str], list[tuple[int, str]], list[str]]:
    """The text keystone sees (same line count), the instruction lines, and the labels."""
    cleaned: list[str] = []
    instructions: list[tuple[int, str]] = []
    labels: list[str] = []
    for number, line in enumerate(_strip_comments(text), start=1):
        body = line
        while (match := _LABEL.match(body)) is not None:
            labels.append(match.group(1))
            body = body[match.end() :]
        statement = body.strip()
        if not statement:
            cleaned.append(line)
            continue
        if statement.startswith("#"):
            raise AssemblyError(file, number, "preprocessor line: run the C preprocessor first (`cpp`)")
        if ";" in statement:
            raise AssemblyError(file, number, "one statement per line, please (`;` separators)")
        if statement.startswith("."):
            directive = statement.split()[0]
            if directive in _IGNORED:
                cleaned.append(line.replace(statement, ""))
                continue
            if directive not in _KEPT:
                raise AssemblyError(
                    file, number, f"directive {directive} is not supported here; the stub must be flat code"
                )
            cleaned.append(line)
            continue
        instructions.append((number, statement))
        cleaned.append(line)
    return cleaned, instructions, labels


def _diagnose(instructions: list[tuple[int, str]], file: str) -> AssemblyError:
    for number, statement in instructions:
        try:
            encoding, _ = _engine().asm(statement, 0)
        except KsError as error:
            if "SYMBOL" in str(error).upper():
                continue  # branch to a label: fine in context
            return AssemblyError(file, number, f"cannot assemble `{statement}`: {error}")
        if not encoding or len(encoding) != INSTRUCTION_SIZE:
            return AssemblyError(
                file, number, f"`{statement}` assembled to nothing (an illegal LDP/STP form, or `.inst`?)"
            )
    return AssemblyError(file, 1, "keystone's output does not match the instruction count")


@lru_cache(maxsize=512)
def assemble(text: str, file: str = "<stub>") -> Assembly:
    cleaned, instructions, labels = _clean(text, file)
    if not instructions:
        raise AssemblyError(file, 1, "no instructions")
    try:
        encoding, _ = _engine().asm("\n".join(cleaned), 0)
    except KsError:
        raise _diagnose(instructions, file) from None
    code = bytes(encoding or b"")
    if len(code) != INSTRUCTION_SIZE * len(instructions):
        raise _diagnose(instructions, file)
    return Assembly(
        code=code,
        source_lines=tuple(n for n, _ in instructions),
        source_text=tuple(s for _, s in instructions),
        symbols=tuple(labels),
    )
