"""Loading specs: the real one loads; every malformed one gets one located line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from tests.support import SPEC, edited
from tests.support.malformed_specs import CASES
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


@pytest.mark.slow
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
