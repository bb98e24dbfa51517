"""The contract judges observations, whoever made them: a backend plugs in without
touching a verdict, and each verdict follows from plain values."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import ClassVar

import pytest

from tests.support import SPEC
from tests.support.stubs import named
from vtlgen.isa.assembler import Assembly, assemble
from vtlgen.lower.convention import lower
from vtlgen.plan import Plan
from vtlgen.spec.loader import load
from vtlgen.validate import run
from vtlgen.validate.backends.base import Access, Observable, StubCode, TrialObservation
from vtlgen.validate.backends.unicorn import Harness
from vtlgen.validate.contract import TrialJudge
from vtlgen.validate.results import StubSource
from vtlgen.validate.run import validate

PLANS = {p.convention_id: p for p in lower(load(SPEC).spec, "spec/hyperv_vtl.yaml")}


class EndsOnly:
    """A backend that sees only the trap and the end (as a proof backend's counterexample
    might): unicorn's observations with the per-instruction ones dropped."""

    name = "ends-only"
    observes: frozenset[Observable] = frozenset()
    limits: ClassVar[dict[str, str]] = {"P7": "not observed: no accesses", "P10": "not observed: no trace"}

    def observe(self, plan: Plan, code: StubCode, trials: Sequence[int]) -> Iterator[TrialObservation]:
        harness = Harness(plan, code.assembly)
        for seed in trials:
            observation = harness.run(seed)
            yield replace(observation, steps=[], accesses=[], trace=[])


@pytest.fixture
def ends_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(run.BACKENDS, "ends-only", lambda: EndsOnly)  # a loader of the class


@pytest.mark.usefixtures("ends_only")
def test_a_new_backend_is_one_class_and_no_verdict() -> None:
    good = validate(PLANS["hvc3"], named("hvc3_ok_variant").text, "ok.S", trials=5, backend="ends-only")
    assert good.ok and good.backend == "ends-only"
    assert "P7" not in good.properties_checked and "P10" not in good.properties_checked
    assert any(limit.startswith("P7: not observed") for limit in good.properties_unobservable)
    broken = validate(PLANS["hvc3"], named("hvc3_p4_lost_exit_state").text, "p4.S", trials=5, backend="ends-only")
    assert broken.broken_properties() == {"P4"}
    assert {v.register for v in broken.violations} == {"ctx->x[2]", "ctx->x[3]"}
    assert {v.disassembly for v in broken.violations} == {"hvc #3"}  # no trace to find the writer: the trap


def test_the_same_fault_at_different_addresses_is_one_report() -> None:
    report = validate(PLANS["smccc"], named("smccc_p5_p7_keeps_x19_below_sp").text, "p7.S", trials=30)
    below = [v for v in report.violations if v.property == "P7"]
    assert len(below) == 2 and {v.register for v in below} == {"[sp-0x10]"}  # the store and the load
    assert all(v.trials == 30 for v in below)


def test_accesses_are_judged_from_plain_values() -> None:
    harness = Harness(PLANS["smccc"], _assembled("smccc_ok_variant"))
    observation = harness.run(0)
    context = observation.state.addresses.context
    judge = _judge("smccc_ok_variant")
    assert judge.trial(observation) == []
    far = Access(12, context + 0x4000, 8, True, observation.state.addresses.entry_sp - 32, 0, False)
    slot = Access(12, context + 16, 8, True, 0, 0, False)
    flagged = judge.trial(replace(observation, accesses=[*observation.accesses, slot, far]))
    assert [(v.property, v.register) for v in flagged] == [("P8", "memory outside the context and the frame")]


def _assembled(name: str) -> Assembly:
    return assemble(named(name).text, f"{name}.S")


def _judge(name: str) -> TrialJudge:
    return TrialJudge(PLANS["smccc"], StubSource(_assembled(name), f"{name}.S"), frozenset(Observable))
