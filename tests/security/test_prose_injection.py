"""Class 4: spec prose and file names never become code in what vtlgen writes.

A stranger's title, note or file name is printed into C headers, assembly, Python
bindings and terminals. For arbitrary text in every prose field and in the spec's file
name, each generated artifact must keep exactly the code it has with harmless text: the
same C and assembly tokens outside comments and string literals, the same Python tokens
outside comments and strings, and the same machine code. Or the loader refuses the text
with one located line.
"""

from __future__ import annotations

import io
import re
import tokenize
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from tests.support import SPEC, invoke
from vtlgen.generate.artifacts import ConventionArtifacts, build
from vtlgen.spec.loader import SpecError, load_text

# Every prose field of the default spec, as a path into its YAML tree.
PROSE_FIELDS: list[tuple[str | int, ...]] = [
    ("title",),
    ("conventions", 0, "title"),
    ("conventions", 1, "title"),
    ("conventions", 0, "note"),
    ("context", "note"),
    ("registers", "x18", "note"),
    ("system_registers", "PMBSR_EL1", "note"),
    ("decisions", 0, "topic"),
    ("decisions", 0, "reason"),
    ("sources", "tlfs-vsm", "title"),
    ("sources", "tlfs-vsm", "section"),
    ("sources", "tlfs-vsm", "url"),
    ("waivers", 0, "reason"),
    ("entry_requirements", 0, "reason"),  # printed in every header, wrapped over comment lines
]
ATTACKS = [
    "a */ int injected_c = 1; /* b",
    '""" + __import__("os").system("touch /tmp/vtlgen-pwned") + """',
    "x\n#include </etc/passwd>\n",
    "x\nimport os; os.system('id')\n",
    'x */\n\t.incbin "/etc/passwd"\n/* y',
    "x [/bold] y [red]z",
    "trailing backslash \\",
    "\u202e bidi override \u2066",
    "line\u2028separator",
    "??/ trigraph",
    "// c++ comment",
    "\x1b[2J terminal escape",
]


def _set(tree: Any, path: tuple[str | int, ...], value: str) -> None:
    node = tree
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = DoubleQuotedScalarString(value)  # escapes anything; a folded style cannot hold \x07


@lru_cache(maxsize=1)
def _spec_text() -> str:
    return SPEC.read_text()


def _with(path: tuple[str | int, ...], value: str) -> str:
    yaml = YAML(typ="rt")
    yaml.width = 1 << 20
    tree = yaml.load(_spec_text())
    _set(tree, path, value)
    stream = io.StringIO()
    yaml.dump(tree, stream)
    return stream.getvalue()


_C_TOKEN = re.compile(
    r"""(?P<comment>/\*.*?\*/|//[^\n]*)|(?P<string>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')|(?P<space>\s+)|(?P<token>[A-Za-z_][A-Za-z0-9_]*|0[xX][0-9a-fA-F]+|\d+|.)""",
    re.S,
)


def c_tokens(text: str) -> list[str]:
    """C (and GNU as) code tokens, with comments dropped and literals reduced to their kind."""
    out = []
    for match in _C_TOKEN.finditer(text):
        if match.lastgroup == "string":
            out.append("<string>")
        elif match.lastgroup == "token":
            out.append(match.group())
    return out


def make_tokens(text: str) -> list[str]:
    """Makefile words outside `#` comments (a backslash before the newline would continue one)."""
    assert not any(line.split("#", 1)[-1].endswith("\\") for line in text.splitlines() if "#" in line)
    return [word for line in text.splitlines() for word in line.split("#", 1)[0].split()]


def python_tokens(text: str) -> list[str]:
    skipped = {tokenize.COMMENT, tokenize.NL}
    return [
        "<string>" if token.type == tokenize.STRING else token.string
        for token in tokenize.generate_tokens(io.StringIO(text).readline)
        if token.type not in skipped
    ]


def code_of(built: list[ConventionArtifacts]) -> dict[str, object]:
    shape: dict[str, object] = {}
    for item in built:
        shape[f"{item.plan.convention_id}:machine-code"] = item.code
        for rel, text in item.files.items():
            kind = rel.rsplit(".", 1)[-1]
            if kind in ("h", "S", "c"):
                shape[rel] = c_tokens(text)
            elif kind == "kbuild":
                shape[rel] = make_tokens(text)
            elif kind == "py":
                compile(text, rel, "exec")  # still valid Python
                shape[rel] = python_tokens(text)
    return shape


@cache
def _baseline(path: tuple[str | int, ...]) -> dict[str, object]:
    loaded = load_text(_with(path, "harmless prose, long enough"), "spec.yaml")
    return code_of(build(loaded))


def _assert_inert(path: tuple[str | int, ...], value: str, file: str = "spec.yaml") -> None:
    try:
        loaded = load_text(_with(path, value), file)
    except SpecError as error:
        for problem in error.problems:
            assert re.match(r"^.+:\d+:\d+: ", str(problem)) and "\n" not in str(problem), str(problem)
        return
    assert code_of(build(loaded)) == _baseline(path)


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize("path", PROSE_FIELDS, ids=lambda p: ".".join(map(str, p)))
def test_known_attacks_stay_inert(path: tuple[str | int, ...], attack: str) -> None:
    _assert_inert(path, attack)


@pytest.mark.slow
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PROSE_FIELDS), text=st.text(max_size=80))
@example(path=("conventions", 0, "title"), text="*/\n#define x 1\n/*")
def test_arbitrary_prose_stays_inert(path: tuple[str | int, ...], text: str) -> None:
    _assert_inert(path, text)


FILE_NAMES = [
    "evil\nimport os; os.system('id')\n.yaml",
    "x */ int injected; /* .yaml",
    '""" + x + """.yaml',
    "a\\.yaml",
    "\x1b[31mred.yaml",
]


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.text(st.characters(blacklist_characters="/\0", blacklist_categories=("Cs",)), min_size=1, max_size=40))
def test_arbitrary_file_names_stay_inert(name: str) -> None:
    loaded = load_text(_spec_text(), f"specs/{name}")
    assert code_of(build(loaded)) == code_of(build(load_text(_spec_text(), "specs/spec.yaml")))


@pytest.mark.parametrize("name", FILE_NAMES)
def test_known_file_name_attacks_stay_inert(name: str) -> None:
    loaded = load_text(_spec_text(), f"specs/{name}")
    assert code_of(build(loaded)) == code_of(build(load_text(_spec_text(), "specs/spec.yaml")))


def test_rich_markup_in_a_title_is_shown_as_text(checkout: Path) -> None:
    spec = checkout / "spec" / "hyperv_vtl.yaml"
    spec.write_text(_with(("title",), "x [/bold] y [red]z"))
    result = invoke("show")
    assert result.exit_code == 0, result.output
    assert "x [/bold] y [red]z" in result.output


@pytest.mark.parametrize("path", [("title",), ("conventions", 0, "title"), ("decisions", 0, "topic")])
def test_a_line_break_in_a_one_line_field_is_a_located_error(path: tuple[str | int, ...], checkout: Path) -> None:
    spec = checkout / "spec" / "hyperv_vtl.yaml"
    spec.write_text(_with(path, "a\nb"))
    result = invoke("generate")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and re.match(r"^spec/hyperv_vtl\.yaml:\d+:\d+: .*line break", lines[0]), lines


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("registers", "\x1fx18\x1e"),
        ("registers", "x18\x85"),
        ("registers", " x18"),
        ("system_registers", "PMBSR_EL1\n"),
    ],
)
def test_keys_are_names_exactly_as_written(section: str, key: str) -> None:
    """Python's str.strip() eats \\x1c-\\x1f and \\x85, and `$` accepts a trailing newline."""
    yaml = YAML(typ="rt")
    tree = yaml.load(_spec_text())
    old = "x18" if section == "registers" else "PMBSR_EL1"
    tree[section][key] = tree[section].pop(old)
    stream = io.StringIO()
    yaml.dump(tree, stream)
    with pytest.raises(SpecError) as caught:
        load_text(stream.getvalue(), "spec.yaml")
    assert all("\n" not in str(p) and "\x1f" not in str(p) for p in caught.value.problems)
