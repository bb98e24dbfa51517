"""Spec files (YAML or JSON) to a checked Spec.

Every problem becomes a `SpecError` that names `file:line:col`, the field path and what
is expected, so the CLI can print one line per problem and exit 2 without a traceback.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent

from vtlgen.guard import safepath
from vtlgen.guard.quoting import one_line
from vtlgen.spec import checks, messages
from vtlgen.spec.schema import Spec

# A spec is a few hundred lines of plain data. These bounds refuse, before anything is
# built, the inputs that make a YAML loader exhaust a machine: a huge file, deep nesting,
# and aliases (nine anchors of nine aliases each expand to 9**9 nodes: "billion laughs").
MAX_SPEC_BYTES = 1 << 20
MAX_DEPTH = 32
MAX_EVENTS = 200_000

FieldPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Located:
    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        # One problem, one line: the file name, the path and the message may all carry a
        # stranger's characters (newlines, terminal escapes), so each is escaped.
        where = f"{safepath.shown(self.file)}:{self.line}:{self.column}"
        message = one_line(self.message, limit=2000)
        return f"{where}: {self.path}: {message}" if self.path else f"{where}: {message}"


class SpecError(Exception):
    """One or more located problems in spec files."""

    def __init__(self, problems: Sequence[Located]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class LoadedSpec:
    spec: Spec
    path: Path
    tree: Any  # the ruamel node tree, kept to locate later findings (lint, SARIF)

    def locate(self, path: FieldPath) -> tuple[int, int]:
        return locate(self.tree, path)


def format_path(path: Iterable[str | int]) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + one_line(str(part), limit=200)
    return text


def locate(tree: Any, path: FieldPath) -> tuple[int, int]:
    """1-based line and column of the deepest node of `path` present in `tree`."""
    line, column = 0, 0
    node = tree
    for part in path:
        if isinstance(node, CommentedMap) and part in node:
            line, column = node.lc.value(part) if _is_scalar(node[part]) else node.lc.key(part)
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line, column = node.lc.item(part)
            node = node[part]
        else:
            if isinstance(node, CommentedMap) and isinstance(part, str):
                # An unknown key: point at the key itself.
                for key in node:
                    if str(key) == part:
                        return node.lc.key(key)[0] + 1, node.lc.key(key)[1] + 1
            break
    return line + 1, column + 1


def _is_scalar(node: Any) -> bool:
    return not isinstance(node, (CommentedMap, CommentedSeq))


def _plain(node: Any) -> Any:
    """ruamel's round-trip types to plain Python, so pydantic's strict mode sees real ints."""
    if isinstance(node, dict):
        return {_plain(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


_BRACKETS = re.compile(r"[\[\]{}]")
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def _refuse_unsafe_yaml(text: str, file: str) -> None:
    """Characters YAML forbids, aliases, and nesting beyond a spec's, located, before any node is built."""
    bad = _FORBIDDEN.search(text)
    if bad is not None:
        line, column = _position(text, bad.start())
        shown = bad.group().encode("unicode_escape").decode("ascii")
        raise SpecError([Located(file, line, column, "", f"character {shown} is not allowed; expected text")])
    # The YAML scanner slows down quadratically in deeply nested flow collections before
    # its events say so, so bracket depth is bounded first, on the raw text.
    depth = 0
    for bracket in _BRACKETS.finditer(text):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > 2 * MAX_DEPTH:
            line, column = _position(text, bracket.start())
            raise _too_deep(file, line, column)
    depth = 0
    try:
        for count, event in enumerate(YAML(typ="rt").parse(io.StringIO(text))):
            mark = event.start_mark
            if isinstance(event, AliasEvent):
                raise SpecError([Located(file, mark.line + 1, mark.column + 1, "", "YAML aliases (`*name`) are not "
                                         "accepted: a spec is plain data; write the value out")])  # fmt: skip
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _too_deep(file, mark.line + 1, mark.column + 1)
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
            if count > MAX_EVENTS:
                raise SpecError(
                    [Located(file, mark.line + 1, mark.column + 1, "", "more YAML nodes than any spec has")]
                )
    except YAMLError:
        return  # malformed YAML: the full parse below reports it, located


def _too_deep(file: str, line: int = 1, column: int = 1) -> SpecError:
    return SpecError([Located(file, line, column, "", f"nested deeper than {MAX_DEPTH} levels; a spec is flatter")])


def _parse(text: str, file: str) -> Any:
    _refuse_unsafe_yaml(text, file)
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        return yaml.load(io.StringIO(text))
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = (error.problem or error.context or "malformed YAML").strip()
        if problem.startswith("found duplicate key"):
            problem = problem.split(" with value", 1)[0]
        raise SpecError([Located(file, line, column, "", messages.yaml_problem(problem))]) from None
    except RecursionError:
        raise _too_deep(file) from None
    except (YAMLError, ValueError, TypeError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "malformed"
        raise SpecError([Located(file, 1, 1, "", f"{first_line}; expected valid YAML or JSON")]) from None


def _validation_problems(error: ValidationError, tree: Any, file: str) -> list[Located]:
    items = error.errors(include_url=False)
    # A key that is wrong (pydantic's loc ends in "[key]": `note` dedented under `registers`)
    # makes its value's errors moot: say what is wrong with the key only.
    bad_keys = {_real_path(tree, item["loc"]) for item in items if item["loc"][-1:] == ("[key]",)}
    by_path: dict[str, tuple[tuple[int, int], list[str]]] = {}
    for item in items:
        path = _real_path(tree, item["loc"])
        is_key = item["loc"][-1:] == ("[key]",)
        if path in bad_keys and not is_key:
            continue
        parent = _node(tree, path[:-1])
        if is_key and isinstance(parent, CommentedMap) and path[-1] in parent:
            value_is_mapping = isinstance(parent[path[-1]], CommentedMap)
            message = messages.key_message(item, path, value_is_mapping)
            line, column = parent.lc.key(path[-1])
            where = (line + 1, column + 1)  # the key itself, not its value
        else:
            message = messages.validation_message(item, path)
            where = locate(tree, path)
        key = format_path(path)
        entry = by_path.setdefault(key, (where, []))
        if message not in entry[1]:
            entry[1].append(message)
    problems = []
    for key, (where, texts) in by_path.items():
        text = texts[0] if len(texts) == 1 else _union_message(texts)
        problems.append(Located(file, where[0], where[1], key, text))
    return sorted(problems, key=lambda p: (p.line, p.column, p.path))


def _node(tree: Any, path: FieldPath) -> Any:
    node = tree
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _union_message(texts: list[str]) -> str:
    """pydantic reports each arm of a union; say it once: `expected A, or B, found C`."""
    arms = [t.removeprefix("expected ").split(", found ")[0].strip() for t in texts]
    found = texts[0].split(", found ", 1)[1] if ", found " in texts[0] else ""
    return "expected " + ", or ".join(arms) + (f", found {found}" if found else "")


_NOT_KEYS = ("literal[", "function-", "[key]")  # pydantic's union tags and its mark of a dict's key


def _real_path(tree: Any, loc: tuple[Any, ...]) -> FieldPath:
    """Drop pydantic's union tags (`literal[...]`, `int`) that are not keys of the data."""
    path: list[str | int] = []
    node = tree
    for part in loc:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            path.append(part)
            node = node[part]
        elif (
            isinstance(node, dict) and isinstance(part, str) and not part.startswith(("literal[", "function-", "[key]"))
        ):
            path.append(part)  # a missing or unknown key still belongs in the path
            node = None
        else:
            node = None
    return tuple(path)


def load_text(text: str, file: str) -> LoadedSpec:
    tree = _parse(text, file)
    if not isinstance(tree, CommentedMap):
        raise SpecError([Located(file, 1, 1, "", "expected a mapping at the top of the spec")])
    try:
        spec = Spec.model_validate(_plain(tree))
    except RecursionError:
        raise _too_deep(file) from None
    except ValidationError as error:
        raise SpecError(_validation_problems(error, tree, file)) from None
    problems = checks.check(spec)
    if problems:
        located = []
        for problem in problems:
            line, column = locate(tree, problem.path)
            located.append(Located(file, line, column, format_path(problem.path), problem.message))
        raise SpecError(located)
    return LoadedSpec(spec, Path(file), tree)


def load(path: Path) -> LoadedSpec:
    try:
        text = safepath.read_text(path, MAX_SPEC_BYTES, "the spec")
    except safepath.UnsafePath as error:
        raise SpecError([Located(str(path), 1, 1, "", str(error).split(": ", 1)[-1])]) from None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise SpecError([Located(str(path), 1, 1, "", f"cannot read the spec: {reason}")]) from None
    return load_text(text, str(path))


def load_all(paths: Sequence[Path]) -> list[LoadedSpec]:
    """Load every spec, collecting all problems before failing; ids must be unique."""
    loaded: list[LoadedSpec] = []
    problems: list[Located] = []
    for path in paths:
        try:
            loaded.append(load(path))
        except SpecError as error:
            problems.extend(error.problems)
    seen: dict[str, Path] = {}
    for item in loaded:
        if item.spec.id in seen:
            line, column = item.locate(("id",))
            problems.append(
                Located(
                    str(item.path), line, column, "id", f"spec id {item.spec.id!r} is also used by {seen[item.spec.id]}"
                )
            )
        seen[item.spec.id] = item.path
    if problems:
        raise SpecError(problems)
    return loaded
