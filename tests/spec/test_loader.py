"""Loading specs: the real one loads; every malformed one gets one located line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from tests.conftest import SPEC, edited
from vtlgen.spec.loader import SpecError, load, load_all, load_text

LOCATED = re.compile(r"\Aspec/x\.yaml:(\d+):(\d+): (\S+: )?[^\n]+\Z")  # one problem, one line


def test_real_spec_loads() -> None:
    loaded = load(SPEC)
    spec = loaded.spec
    assert spec.id == "hyperv_vtl"
    assert spec.context.size == 768 <= spec.context.max_size == 1024
    assert [c.symbol for c in spec.conventions] == ["__mshv_vtl_return_call", "__mshv_vtl_return_call_smccc"]
    assert next(f for f in spec.context.fields if f.name == "q").offset == 256


def test_json_specs_load_too(tmp_path: Path) -> None:
    data = YAML(typ="safe").load(SPEC.read_text())
    path = tmp_path / "hyperv_vtl.json"
    path.write_text(json.dumps(data, indent=1))
    assert load(path).spec == load(SPEC).spec


# (name, old text, new text, field path, words the message must contain)
CASES = [
    ("unknown key", "  align: 16\n", "  align: 16\n  colour: red\n", "context.colour", "unknown key"),
    (
        "overlapping fields",
        "{name: rsvd, type: u64, offset: 248}",
        "{name: rsvd, type: u64, offset: 240}",
        "context.fields[1].offset",
        "overlaps",
    ),
    (
        "misaligned offset",
        "{name: q, type: u128, count: 32, offset: 256}",
        "{name: q, type: u128, count: 32, offset: 264}",
        "context.fields[2].offset",
        "multiple of 16",
    ),
    (
        "field macro taken by another field",
        "{name: rsvd, type: u64, offset: 248}",
        "{name: x1, type: u64, offset: 248}",
        "context.fields[1].name",
        "MSHV_VTL_CPU_CONTEXT_X1, which field 'x'",
    ),
    (
        "field macro taken by the header",
        "{name: rsvd, type: u64, offset: 248}",
        "{name: existing, type: u64, offset: 248}",
        "context.fields[1].name",
        "MSHV_VTL_CPU_CONTEXT_EXISTING, which the header itself",
    ),
    ("slot outside the struct", "slot: x[19]", "slot: x[29]", "registers.x19-x28.slot", "outside the struct"),
    ("slot in no field", "slot: x[19]", "slot: y[19]", "registers.x19-x28.slot", "no context field"),
    ("slot of the wrong type", "slot: x[19]", "slot: q[19]", "registers.x19-x28.slot", "u64"),
    ("register mapped twice", "  x18:\n", "  x17-x18:\n", "registers.x17-x18", "mapped twice"),
    ("unknown register", "  x18:\n", "  w18:\n", "registers.w18", "unknown register"),
    (
        "register without class",
        "  zt0:\n    class: private\n    sources: [aapcs64-sme, tlfs-vsm]\n",
        "",
        "registers",
        "no class for zt0",
    ),
    ("unknown class", "  zt0:\n    class: private\n", "  zt0:\n    class: banked\n", "registers.zt0.class", "shared"),
    (
        "shared without slot",
        "  q0-q31:\n    class: shared\n    slot: z[0]\n",
        "  q0-q31:\n    class: shared\n",
        "registers.q0-q31",
        "slot",
    ),
    ("function ID mismatch", "value: 0x46000001", "value: 0x46000002", "conventions[1].function_id.value", "encode"),
    ("function number too big", "number: 1\n", "number: 70000\n", "conventions[1].function_id.number", "65535"),
    ("unknown owner", "owner: vendor-hyp", "owner: hyp", "conventions[1].function_id.owner", "vendor-hyp"),
    ("boolean immediate", "imm16: 3}", "imm16: true}", "conventions[0].conduit.imm16", "integer"),
    ("missing key", "abi_version: 2.0.0\n", "", "abi_version", "missing"),
    ("bad version", "abi_version: 2.0.0", "abi_version: one", "abi_version", "pattern"),
    ("unknown source", "sources: [hvdef]}", "sources: [nowhere]}", "conventions[1].arguments[1].sources[0]", "unknown"),
    (
        "argument in no register",
        "{register: x2, value: context",
        "{register: w2, value: context",
        "conventions[1].arguments[2].register",
        "x0-x30",
    ),
    ("duplicate convention", "  - id: smccc\n", "  - id: hvc3\n", "conventions[1].id", "used twice"),
]


@pytest.mark.parametrize(("name", "old", "new", "path", "words"), CASES, ids=[c[0] for c in CASES])
def test_malformed_spec_is_located(spec_text: str, name: str, old: str, new: str, path: str, words: str) -> None:
    text = edited(spec_text, old, new)
    with pytest.raises(SpecError) as caught:
        load_text(text, "spec/x.yaml")
    problems = caught.value.problems
    assert any(p.path == path and words in p.message for p in problems), [str(p) for p in problems]
    for problem in problems:
        assert LOCATED.match(str(problem)) and "\n" not in str(problem)
        assert 1 <= problem.line <= text.count("\n") + 1
    # The line named is the edited one whenever the edit left a line behind.
    first = next(p for p in problems if p.path == path)
    if new.strip():
        edited_line = spec_text[: spec_text.index(old)].count("\n") + 1
        assert edited_line <= first.line <= edited_line + new.count("\n"), str(first)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("id: [unclosed\n", "expected"),
        ("- a\n- b\n", "mapping"),
        ("", "mapping"),
        ("a: 1\na: 2\n", "duplicate key"),
        ("\t- tab", "YAML"),
    ],
)
def test_broken_documents(text: str, words: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_text(text, "spec/x.yaml")
    assert any(words in str(p) for p in caught.value.problems)
    assert all(LOCATED.match(str(p)) for p in caught.value.problems)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load(tmp_path / "missing.yaml")
    assert "cannot read" in str(caught.value)


def test_duplicate_spec_ids(tmp_path: Path) -> None:
    copy = tmp_path / "copy.yaml"
    copy.write_text(SPEC.read_text())
    with pytest.raises(SpecError) as caught:
        load_all([SPEC, copy])
    assert "also used by" in str(caught.value)


# --- robustness: nothing a user can write produces a traceback -------------------------

_safe = YAML(typ="safe")
BASE = _safe.load(SPEC.read_text())

junk = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=12) | st.floats(allow_nan=True),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _paths(node: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*prefix, index))
    return out


ALL_PATHS = [p for p in _paths(BASE) if p]


def _mutate(doc: object, path: tuple[object, ...], action: str, value: object) -> object:
    import copy

    doc = copy.deepcopy(doc)
    parent = doc
    for part in path[:-1]:
        parent = parent[part]  # type: ignore[index]
    last = path[-1]
    if action == "drop":
        del parent[last]  # type: ignore[attr-defined]
    else:
        parent[last] = value  # type: ignore[index]
    return doc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mutations=st.lists(
        st.tuples(st.sampled_from(ALL_PATHS), st.sampled_from(["drop", "set"]), junk), min_size=1, max_size=3
    )
)
@example(mutations=[(("context",), "set", {"\n": None})])  # once split a problem over two lines
@example(mutations=[(("conventions", 0, "id"), "set", {"\x1b[2J": "\r"})])
def test_mutated_specs_never_crash(mutations: list[tuple[tuple[object, ...], str, object]]) -> None:
    doc: object = BASE
    for path, action, value in mutations:
        try:
            doc = _mutate(doc, path, action, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this path
    text = json.dumps(doc, default=str)
    try:
        load_text(text, "spec/x.yaml")
    except SpecError as error:
        assert error.problems
        assert all(LOCATED.match(str(p)) for p in error.problems)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_garbage_never_crashes(text: str) -> None:
    try:
        load_text(text, "spec/x.yaml")
    except SpecError as error:
        assert all(LOCATED.match(str(p)) for p in error.problems)
