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


# System instructions the trials do not model, each put into the generated smccc stub after
# its frame record: the trials report P9 at that instruction, never a quiet no-op.
UNMODELLED = [
    "msr vbar_el1, x3",
    "msr ttbr1_el1, x3",
    "msr sctlr_el1, x3",
    "msr daifclr, #2",
    "msr sp_el0, x3",
    "msr mdscr_el1, x3",
    "tlbi vmalle1",
    "dc ivac, x0",
    "mrs x3, tpidr_el1",
    "hint #25",  # paciasp
    "hint #29",  # autiasp
    "ic iallu",
    "wfi",
]
FRAME_SET = "\tmov    x29, sp"


def _smccc_with(line: str) -> str:
    from vtlgen.generate import render

    plan = PLANS["smccc"]
    text = render.standalone_asm(plan, plan.spec_file)
    assert text.count(FRAME_SET) == 1
    return text.replace(FRAME_SET, f"{FRAME_SET}\n\t{line}")


@pytest.mark.parametrize("line", UNMODELLED)
def test_an_unmodelled_system_instruction_is_p9_where_it_runs(line: str) -> None:
    plan = PLANS["smccc"]
    assert validate(plan, _smccc_with("nop"), "ok.S", trials=2).ok  # the same stub with a modelled hint
    report = validate(plan, _smccc_with(line), "sys.S", trials=2)
    p9 = [v for v in report.violations if v.property == "P9" and v.message.startswith("runs ")]
    assert len(p9) == 1 and p9[0].source_line == 24, report.violations  # the inserted line


def test_dc_zva_is_judged_on_the_largest_block() -> None:
    """`dc zva` of ctx+64: unicorn zeroes 64 bytes inside the shared x slots, but the block
    may be 2 KiB, which reaches past the shared slots in every trial (P8)."""
    plan = PLANS["smccc"]
    report = validate(plan, _smccc_with("add    x9, x0, #64\n\tdc     zva, x9"), "zva.S", trials=8)
    p8 = [v for v in report.violations if v.property == "P8"]
    assert p8 and all(v.disassembly.startswith("dc") for v in p8)
    assert report.occurrences["P8"] == 8  # every trial, wherever the context lies
