"""Replay files are untrusted input: strictly typed, bounded, shaped like the plan's trials,
and bound to the stub they were found on. Hostile files end in a located ReplayError (exit 2
through the CLI), never in a traceback, a crash, or a replay on another stub."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import FIRST, invoke
from tests.support.stubs import named, plan_for
from vtlgen.isa.assembler import assemble
from vtlgen.prove.counterexample import Concrete
from vtlgen.prove.replay import ReplayError, check_fits, check_stub, dump, load, stub_digest
from vtlgen.prove.run import prove
from vtlgen.validate.backends.base import StubCode

STUB = "hvc3_p2_leak_callee_saved"


@cache
def found() -> tuple[Concrete, str]:
    """A real counterexample of a corpus stub, and its file."""
    stub = named(STUB)
    violation, concrete = prove(plan_for(stub), stub.text, "leak.S").counterexamples[0]
    return concrete, dump(concrete, violation.property, violation.message)


def test_the_file_round_trips_and_names_its_stub() -> None:
    concrete, text = found()
    stub = named(STUB)
    assert load(text) == concrete
    assert json.loads(text)["stub"] == {"file": "leak.S", "sha256": stub_digest(assemble(stub.text, "x.S").code)}
    check_fits(plan_for(stub), concrete)
    check_stub(concrete, StubCode(stub.text, "again.S", assemble(stub.text, "again.S")))  # same machine code
    other = named("hvc3_p1_wrong_offset")
    with pytest.raises(ReplayError, match=r"counterexample of the stub 'leak.S'.*--stub leak.S"):
        check_stub(concrete, StubCode(other.text, "p1.S", assemble(other.text, "p1.S")))


HOSTILE = [
    "[" * 100_000 + "]" * 100_000,  # deep nesting
    "1e400",
    "-1",
    "1" + "0" * 5000,  # past Python's int-from-string digit limit
    '"-0x1"',
    '"0x' + "f" * 40 + '"',  # wider than any register
    '"0xFF"',
    "null",
    "true",
    "{}",
    "[]",
    '"' + "a" * 10_000 + '"',
    '[["x0", "0x1"]]',
    '{"x0": "0x1", "x99": "0x1"}',
    '"zz"',
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):
            out += _paths(item, (*prefix, index))
    return out


MARK = "@@HOSTILE@@"


def _with(document: Any, path: tuple[Any, ...], raw: str) -> str:
    """The document as JSON text with the value at `path` replaced by the raw text `raw`."""
    copy = json.loads(json.dumps(document))
    if not path:
        return raw
    holder = copy
    for part in path[:-1]:
        holder = holder[part]
    holder[path[-1]] = MARK
    return json.dumps(copy, indent=2).replace(f'"{MARK}"', raw)


@cache
def _document_paths() -> list[tuple[Any, ...]]:
    return _paths(json.loads(found()[1]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_hostile_values_anywhere_are_located_errors(data: st.DataObject) -> None:
    _, text = found()
    path = data.draw(st.sampled_from(_document_paths()))
    raw = data.draw(st.sampled_from(HOSTILE))
    _judged(_with(json.loads(text), path, raw))


def _judged(text: str) -> None:
    """The file is either refused with a position, or read and then fits this plan or not:
    nothing else may happen (no RecursionError, OverflowError, KeyError...)."""
    plan = plan_for(named(STUB))
    try:
        concrete = load(text)
    except ReplayError as error:
        assert error.line >= 1 and error.col >= 1 and str(error)
        return
    try:
        check_fits(plan, concrete)
    except ReplayError as error:
        assert str(error)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["switch_registers", "vtl2_values"]), st.integers(1, 300))
def test_more_entries_than_the_plan_has_are_refused(field: str, extra: int) -> None:
    _, text = found()
    document = json.loads(text)
    entries = document[field]
    assert entries, field
    document[field] = entries + [entries[-1]] * extra
    try:
        fits = load(json.dumps(document))
    except ReplayError as error:
        assert "at most" in str(error) or "List should have" in str(error)
        return
    if field == "vtl2_values":  # any set of VTL2 values is a trial's: only the cap bounds it
        check_fits(plan_for(named(STUB)), fits)
        return
    with pytest.raises(ReplayError, match=rf"{field}: \d+ entries, expected {len(entries)}"):
        check_fits(plan_for(named(STUB)), fits)


def test_a_located_error_points_at_the_field() -> None:
    _, text = found()
    broken = text.replace('"x21": "0x', '"x21": "-0x', 1)
    with pytest.raises(ReplayError) as caught:
        load(broken)
    line = broken.splitlines()[caught.value.line - 1]
    assert '"x21"' in line and "entry.x21: expected a lowercase hex number" in str(caught.value)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cli_refuses_a_replay_on_another_stub_or_the_generated_one(workdir: Path) -> None:
    stub = named(STUB).write(workdir)
    other = named("hvc3_p1_wrong_offset").write(workdir)
    args = [str(FIRST), "--convention", "hvc3"]
    assert invoke("prove", *args, "--stub", str(stub), "--counterexamples", "cex").exit_code == 1
    cex = sorted((workdir / "cex").glob("*.json"))[0]
    assert invoke("validate", *args, "--stub", str(stub), "--replay", str(cex)).exit_code == 1  # its own stub
    for chosen in ([], ["--stub", str(other)]):  # the generated stub, then another hand-written one
        result = invoke("validate", *args, *chosen, "--replay", str(cex))
        assert result.exit_code == 2 and result.output.startswith(f"{cex.as_posix()}:1:1: replay: ")
        assert f"counterexample of the stub '{stub.as_posix()}'" in result.output, result.output
        assert f"--stub {stub.as_posix()}" in result.output and "ok" not in result.output.split()


def test_cli_exit_2_on_a_file_with_too_many_switch_registers(workdir: Path) -> None:
    stub = named(STUB).write(workdir)
    _, text = found()
    document = json.loads(text)
    document["switch_registers"] += [["x0", "0x1"]] * 40  # once overflowed a ctypes buffer: exit 139
    document["stub"]["file"] = stub.as_posix()
    bad = workdir / "bad.json"
    bad.write_text(json.dumps(document))
    result = invoke("validate", str(FIRST), "--convention", "hvc3", "--stub", str(stub), "--replay", str(bad))
    assert result.exit_code == 2 and "replay: switch_registers:" in result.output, result.output
