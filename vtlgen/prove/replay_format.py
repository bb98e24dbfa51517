"""The replay file as a strict pydantic model: what `vtlgen prove --counterexamples` writes
and `vtlgen validate --replay` reads back.

A replay file comes from anyone (a CI artefact, a bug report), so it is read as untrusted:
the JSON parser is pydantic's (no recursion in Python, so deep nesting is a located error,
not a RecursionError), every number is a bounded hex string (no float, no `1e400`, no
negative or 10^5-digit value reaches `int`), every list and map has a length cap, and any
key the format does not name is refused. Whether the names and counts fit the plan is
`vtlgen.prove.replay.check_fits`'s question, asked once the plan is known.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from vtlgen.properties import PROPERTIES

FORMAT = "vtlgen-replay/2"  # /2: the file names the stub it was found on (`stub`)

MAX_VALUE_DIGITS = 32  # a q register: 128 bits
MAX_CONTEXT_BYTES = 1 << 18  # hex digits of context + guard stay under the 1 MiB file cap
MAX_ENTRIES = 256  # registers, slots, stack words and VTL2 values: a plan has fewer than 100 of each
MAX_TEXT = 4096

Hex = Annotated[str, StringConstraints(pattern=rf"^0x[0-9a-f]{{1,{MAX_VALUE_DIGITS}}}$")]
Offset = Annotated[str, StringConstraints(pattern=r"^[+-]0x[0-9a-f]{1,8}$")]  # `f"{offset:+#x}"`
Bytes = Annotated[str, StringConstraints(pattern=r"^([0-9a-f]{2})*$", max_length=2 * MAX_CONTEXT_BYTES)]
Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,15}$")]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
Digest = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
ContextOffset = Annotated[int, Field(ge=0, lt=MAX_CONTEXT_BYTES)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ViolationEntry(_Model):
    property: Literal[tuple(PROPERTIES)]  # type: ignore[valid-type]
    message: Text


class StubEntry(_Model):
    """The stub the counterexample was found on: its file as shown, and the SHA-256 of its
    machine code (what the proof read), so a replay on any other stub is refused."""

    file: Text
    sha256: Digest


class ReplayFile(_Model):
    format: Literal["vtlgen-replay/2"]
    spec: Name
    convention: Name
    stub: StubEntry
    violation: ViolationEntry
    entry: Annotated[dict[Name, Hex], Field(max_length=MAX_ENTRIES)]
    context: Bytes
    guard: Bytes
    stack: Annotated[dict[Offset, Hex], Field(max_length=MAX_ENTRIES)]
    switch_registers: Annotated[list[tuple[Name, Hex]], Field(max_length=MAX_ENTRIES)]
    switch_memory: Annotated[list[tuple[ContextOffset, Bytes]], Field(max_length=MAX_ENTRIES)]
    expected_slots: Annotated[dict[Name, Hex], Field(max_length=MAX_ENTRIES)]
    vtl2_values: Annotated[list[Hex], Field(max_length=4 * MAX_ENTRIES)]


class ReplayFormatError(ValueError):
    """What is wrong (`field.path: expected ...`), and where in the file (line, col)."""

    def __init__(self, message: str, line: int, col: int):
        super().__init__(f"{line}:{col}: {message}")
        self.message, self.line, self.col = message, line, col


def parse(text: str) -> ReplayFile:
    """The file as a ReplayFile, or ReplayFormatError located at the first problem."""
    try:
        return ReplayFile.model_validate_json(text)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        path = tuple(first["loc"])
        message = first["msg"]
        if first["type"] == "json_invalid":
            line, col = _json_position(message)
            raise ReplayFormatError(
                f"not JSON: {message.split(' at line ')[0].removeprefix('Invalid JSON: ')}", line, col
            ) from None
        shown = ".".join(str(part) for part in path) or "(top level)"
        line, col = locate(text, path)
        raise ReplayFormatError(f"{shown}: {_expected(first['type'], message)}", line, col) from None


def _expected(kind: str, message: str) -> str:
    if kind == "string_pattern_mismatch" and "0x" in message:
        return "expected a lowercase hex number 0x..., at most 128 bits"
    if kind == "literal_error" and "vtlgen-replay" in message:
        return f"expected {FORMAT!r} (a file of `vtlgen prove --counterexamples` from this version)"
    return message


_POSITION = re.compile(r"at line (\d+) column (\d+)")


def _json_position(message: str) -> tuple[int, int]:
    found = _POSITION.search(message)
    return (int(found.group(1)), int(found.group(2))) if found else (1, 1)


def locate(text: str, path: tuple[int | str, ...]) -> tuple[int, int]:
    """Line and column of the value at `path`, found by its keys in order (a file that has
    already parsed as JSON); the innermost key found, or 1:1."""
    at, found = 0, 0
    for part in path:
        if isinstance(part, int):
            continue
        index = text.find(f'"{part}"', at)
        if index < 0:
            break
        at = found = index
    line = text.count("\n", 0, found) + 1
    return line, found - (text.rfind("\n", 0, found) + 1) + 1
