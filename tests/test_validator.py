"""The validator passes good stubs and fails each broken one with the property it breaks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.conftest import ROOT, SPEC
from tests.stubs import CorpusStub, corpus, named
from vtlgen.loader import load
from vtlgen.lowering import lower
from vtlgen.plan import Plan
from vtlgen.report import PROPERTIES
from vtlgen.validator import validate

PLANS: dict[str, Plan] = {p.convention_id: p for p in lower(load(SPEC).spec, "spec/hyperv_vtl.yaml")}
CORPUS = corpus()


def _generated(conv: str) -> str:
    return (ROOT / "generated" / "hyperv_vtl" / conv / f"hyperv_vtl_{conv}.S").read_text()


@pytest.mark.parametrize("conv", ["hvc3", "smccc"])
def test_generated_stubs_hold_every_property(conv: str) -> None:
    report = validate(PLANS[conv], _generated(conv), f"{conv}.S", trials=100, seed=1)
    assert report.ok, [v.describe() for v in report.violations]
    assert report.properties_checked == list(PROPERTIES)
    assert report.instructions_per_round_trip == PLANS[conv].budget.lower_bound


def test_corpus_covers_every_property() -> None:
    expected = {stub.expect for stub in CORPUS}
    assert expected >= set(PROPERTIES) | {"pass"}


@pytest.mark.parametrize("stub", CORPUS, ids=lambda s: s.name)
def test_corpus_stub_fails_with_exactly_its_property(stub: CorpusStub) -> None:
    report = validate(PLANS[stub.convention], stub.text, f"{stub.name}.S", trials=20, seed=3)
    if stub.expect == "pass":
        assert report.ok, [v.describe() for v in report.violations]
    else:
        assert report.broken_properties() == {stub.expect}, [v.describe() for v in report.violations]


def test_violation_names_everything_needed_to_act_on_it() -> None:
    stub = named("hvc3_p1_wrong_offset")
    report = validate(PLANS["hvc3"], stub.text, "hvc3_p1_wrong_offset.S", trials=5, seed=11)
    first = report.violations[0]
    assert first.property == "P1" and first.register == "x4"
    assert first.disassembly == "ldp x4, x5, [x1, #0x28]"
    assert stub.text.split("\n")[first.source_line - 1].strip() == "ldp    x4, x5, [x1, #40]"  # type: ignore[operator]
    assert first.expected != first.actual
    assert first.trials == 5  # one report for the fault, counting the trials that showed it
    assert first.seed == 11
    assert "seen in 5 trial(s); reproduce with --seed 11 --trials 1" in first.describe()


def test_a_seed_reproduces_its_trial() -> None:
    stub = named("hvc3_p2_leak_callee_saved")
    many = validate(PLANS["hvc3"], stub.text, "x.S", trials=7, seed=100)
    again = validate(PLANS["hvc3"], stub.text, "x.S", trials=1, seed=many.violations[0].seed)
    assert again.violations[0] == replace(many.violations[0], trials=1)


def test_trials_differ() -> None:
    """Random values really change from trial to trial (a constant model could not catch swaps)."""
    stub = named("hvc3_p1_wrong_offset")
    a = validate(PLANS["hvc3"], stub.text, "x.S", trials=1, seed=1).violations[0]
    b = validate(PLANS["hvc3"], stub.text, "x.S", trials=1, seed=2).violations[0]
    assert a.expected != b.expected


def test_a_stub_for_the_wrong_convention_fails() -> None:
    report = validate(PLANS["smccc"], _generated("hvc3"), "hvc3.S", trials=3)
    assert {"P1", "P9"} <= report.broken_properties()


def test_an_endless_loop_is_bounded() -> None:
    report = validate(PLANS["smccc"], "stp x29, x30, [sp, #-16]!\nmov x29, sp\nloop:\nb loop\n", "loop.S", trials=1)
    assert report.broken_properties() == {"P9"}
    assert any("did not finish" in v.message for v in report.violations)


def test_returning_elsewhere_is_caught() -> None:
    report = validate(PLANS["smccc"], "mov x30, xzr\nret\n", "away.S", trials=1)
    assert "P5" in report.broken_properties()
