"""What the YAML parser and pydantic say, translated into what is wrong and what is expected.

Both libraries word their errors for their own authors ("expected <block end>, but found
'<block mapping start>'", "Input should be a valid dictionary or instance of RegisterEntry").
Each kind of error has one translation here, keyed by what identifies the kind: the parser's
problem text, pydantic's error `type`. A kind missing from the tables keeps the library's words,
reworded to "expected ...", so no message is ever lost; tests/spec/test_messages.py breaks a spec
in each way listed and checks no library wording reaches the user.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from vtlgen.guard.quoting import one_line

# The YAML parser's problems (ruamel.yaml, from PyYAML's scanner and parser), by their start.
YAML_PROBLEMS: dict[str, str] = {
    "expected <block end>, but found": (
        "this line is indented differently from the keys above it; expected every key of a "
        "mapping to start in the same column, and a nested key to be indented under its parent"
    ),
    "mapping values are not allowed here": (
        "a ':' where a value was expected; expected one `key: value` per line (quote a value that holds ': ')"
    ),
    "could not find expected ':'": "a key without ':'; expected `key: value`",
    "found character '\\t' that cannot start any token": (
        "a tab; expected spaces (YAML does not allow tabs for indentation)"
    ),
    "found duplicate key": "given twice in one mapping; expected each key once",
    "expected ',' or ']'": "a list in brackets that is not closed; expected `[a, b]` on one line",
    "expected ',' or '}'": "a mapping in braces that is not closed; expected `{key: value, ...}` on one line",
}


def yaml_problem(problem: str) -> str:
    """The parser's problem as a user's message."""
    for start, translation in YAML_PROBLEMS.items():
        if problem.startswith(start):
            if start == "found duplicate key":  # `found duplicate key "x18" with value ...`: name the key
                return f"duplicate key {problem.removeprefix(start).split(' with value', 1)[0].strip()}: {translation}"
            return translation
    return f"{problem}; expected valid YAML or JSON"


def _found(item: Mapping[str, Any]) -> str:
    value = item.get("input")
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (an empty value)"
    return f"{type(value).__name__} {one_line(repr(value), limit=80)}"


def _mapping(item: Mapping[str, Any], path: tuple[str | int, ...]) -> str:
    # (a key under `registers` that names no register is refused by its name first: `key_message`)
    return f"expected a mapping (keys indented under this one), found {_found(item)}"


def _reworded(item: Mapping[str, Any], path: tuple[str | int, ...]) -> str:
    message = str(item["msg"])
    if message.startswith("Input should be "):
        return f"expected {message.removeprefix('Input should be ')}, found {_found(item)}"
    if message.startswith("Value error, "):
        return message.removeprefix("Value error, ")
    return message


_REGISTER_NAMES = (
    "expected x0-x30, sp, q0-q31, z_upper, p0-p15, ffr, svcr.sm, svcr.za, za, zt0, fpcr, fpsr or "
    "nzcv, or a range such as x19-x28 (system registers go under system_registers)"
)


def _register_key(item: Mapping[str, Any], path: tuple[str | int, ...]) -> str:
    return f"{one_line(repr(item.get('input')), limit=80)} is not a register name; {_REGISTER_NAMES}"


def key_message(item: Mapping[str, Any], path: tuple[str | int, ...], value_is_mapping: bool) -> str:
    """A key pydantic refused (a register name that is none). A key whose value is a plain
    value is most often one dedented out of the entry above it (`note:`), so say that first."""
    if len(path) == 2 and path[0] == "registers" and not value_is_mapping:
        return (
            f"this key is indented under `registers` but {str(path[1])!r} is not a register name; "
            "if it belongs to the register above, indent it under that register"
        )
    return validation_message(item, path)


def _pattern(item: Mapping[str, Any], path: tuple[str | int, ...]) -> str:
    if len(path) == 2 and path[0] == "registers":
        return _register_key(item, path)
    wanted = item.get("ctx", {}).get("pattern", "")
    return f"{_found(item)} does not have the expected form (the pattern {wanted})"


# pydantic's error types (https://docs.pydantic.dev/latest/errors/validation_errors/).
PYDANTIC: dict[str, Callable[[Mapping[str, Any], tuple[str | int, ...]], str]] = {
    "missing": lambda item, path: "missing required key",
    "extra_forbidden": lambda item, path: f"unknown key {path[-1]!r}; remove it or check its spelling",
    "model_type": _mapping,
    "dict_type": _mapping,
    "model_attributes_type": _mapping,
    "string_pattern_mismatch": _pattern,
}


def validation_message(item: Mapping[str, Any], path: tuple[str | int, ...]) -> str:
    """One pydantic error item, located at `path`, as a user's message."""
    return PYDANTIC.get(str(item["type"]), _reworded)(item, path)
