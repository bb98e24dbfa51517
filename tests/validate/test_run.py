"""The validator passes good stubs and fails each broken one with the property it breaks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.support import FIRST, ROOT, SPEC
from tests.support.stubs import CorpusStub, corpus, named, plan_for
from vtlgen.generate import render
from vtlgen.lower.convention import lower
from vtlgen.plan import Plan
from vtlgen.properties import PROPERTIES
from vtlgen.spec.hypervisor_model import VECTOR_LENGTHS
from vtlgen.spec.loader import load
from vtlgen.validate.run import validate

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
    expected = {p for stub in CORPUS for p in stub.expected}
    assert expected >= set(PROPERTIES)
    assert sum(stub.expect == "pass" for stub in CORPUS) >= 8  # the correct patterns, too


@pytest.mark.parametrize("stub", CORPUS, ids=lambda s: s.name)
def test_corpus_stub_fails_with_exactly_its_property(stub: CorpusStub) -> None:
    report = validate(plan_for(stub), stub.text, f"{stub.name}.S", trials=40, seed=3)
    if stub.expect == "pass":
        assert report.ok, [v.describe() for v in report.violations]
    else:
        assert report.broken_properties() == stub.expected, [v.describe() for v in report.violations]


SVE_CORPUS = [stub for stub in CORPUS if "_sve_" in stub.name or "za" in stub.name]


@pytest.mark.parametrize("length", VECTOR_LENGTHS)
@pytest.mark.parametrize("stub", SVE_CORPUS, ids=lambda s: s.name)
def test_sve_corpus_fails_at_exactly_the_vector_lengths_where_the_fault_shows(stub: CorpusStub, length: int) -> None:
    report = validate(plan_for(stub), stub.text, f"{stub.name}.S", trials=6, seed=5, vector_lengths=[length])
    assert report.vector_lengths == [length]
    shows = stub.expect != "pass" and (not stub.fails_at or length in stub.fails_at)
    assert report.broken_properties() == (stub.expected if shows else set()), [v.describe() for v in report.violations]


@pytest.mark.parametrize("conv", ["hvc3", "smccc"])
def test_1x_stubs_keep_their_classes_on_sve_hardware(conv: str) -> None:
    """The 1.0.0 stubs, generated now, at every vector length: Q moves zero the Z bits above
    127 (no VTL2 bits reach VTL0), and the clobbered upper bits, P, FFR and ZA are the
    caller's business."""
    plan = next(p for p in lower(load(FIRST).spec, FIRST.name) if p.convention_id == conv)
    text = render.standalone_asm(plan, FIRST.name)
    report = validate(plan, text, f"{conv}-1.0.0.S", trials=40, seed=2)
    assert report.ok, [v.describe() for v in report.violations]
    assert report.vector_lengths == list(VECTOR_LENGTHS)
    assert not {"z_upper", "p0-p15", "ffr", "za"} & set(report.not_modelled)


def test_violation_names_everything_needed_to_act_on_it() -> None:
    stub = named("hvc3_p1_wrong_offset")
    report = validate(PLANS["hvc3"], stub.text, "hvc3_p1_wrong_offset.S", trials=5, seed=11)
    first = report.violations[0]
    assert first.property == "P1" and first.register == "x4"
    assert first.disassembly == "ldp x4, x5, [x1, #0x28]"
    assert stub.text.split("\n")[first.source_line - 1].strip() == "ldp    x4, x5, [x1, #40]"  # type: ignore[operator]
    assert first.expected != first.actual
    assert 1 <= first.trials <= 5  # one report for the fault, counting the trials that showed it
    assert 11 <= first.seed < 16
    assert f"seen in {first.trials} trial(s); reproduce with --seed {first.seed} --trials 1" in first.describe()


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


def test_one_fault_is_one_report_at_its_instruction() -> None:
    """x18 written once and x29 loaded from the context: one P3 at the x18 write and one P6
    at the x29 load, however many instructions run while they last."""
    text = (
        "stp x29, x30, [sp, #-16]!\nmov x29, sp\nmov x18, x0\nldr x29, [x18, #232]\nmov x2, x18\n"
        "mov x1, #0x12\nmov w0, #0x46000000\norr w0, w0, #1\nhvc #0\nldp x29, x30, [sp], #16\nret\n"
    )
    report = validate(PLANS["smccc"], text, "posted.S", trials=10)
    shown = [(v.property, v.register, v.disassembly, v.trials) for v in report.violations]
    assert shown == [("P3", "x18", "mov x18, x0", 10), ("P6", "x29", "ldr x29, [x18, #0xe8]", 10)], shown


def test_an_unaligned_frame_pointer_says_alignment() -> None:
    (violation,) = validate(PLANS["smccc"], named("smccc_p6_fp_4_aligned").text, "p6.S", trials=3).violations
    assert "8-byte aligned" in violation.message and violation.disassembly == "add x29, sp, #0x64"


def test_an_instruction_with_unknown_effects_is_never_passed_silently() -> None:
    """After the call, an instruction whose register effects vtlgen does not know counts
    as reading what the call changed (P10), not as reading nothing."""
    text = (
        "stp x29, x30, [sp, #-16]!\nmov x29, sp\nmov x2, x0\nmov x1, #0x12\nmov w0, #0x46000000\n"
        "orr w0, w0, #1\nhvc #0\ncrc32x w9, w9, x9\nldp x29, x30, [sp], #16\nret\n"
    )
    report = validate(PLANS["smccc"], text, "crc.S", trials=2)
    assert report.broken_properties() == {"P10"} and "does not know" in report.violations[0].message


def test_a_2_kib_context_is_validated_whole() -> None:
    """Regions are sized from the spec's max_size: a 2 KiB context runs, and a store
    inside its reserved tail, far past the struct, is P8."""
    spec = load(FIRST).spec  # 1.0.0, which hvc3_ok_variant is written for
    spec = spec.model_copy(update={"context": spec.context.model_copy(update={"max_size": 2048})})
    plan = {p.convention_id: p for p in lower(spec, "big.yaml")}["hvc3"]
    assert plan.model.region_size == 2048
    ok = named("hvc3_ok_variant").text
    far = ok.replace("\tstr    x0, [x1]\n", "\tstr    x0, [x1]\n\tstr    xzr, [x1, #2000]\n")
    assert validate(plan, ok, "ok.S", trials=3).ok
    assert validate(plan, far, "far.S", trials=3).broken_properties() == {"P8"}


def test_a_missed_trap_is_blamed_on_the_branch_that_skipped_it() -> None:
    stub = named("smccc_p9_skips_trap_on_caller_value")
    (violation,) = validate(PLANS["smccc"], stub.text, "skip.S", trials=60).violations
    assert violation.message == "never traps" and violation.disassembly.startswith("cbz x5")
    assert 0 < violation.trials < 60  # only the trials where the caller handed in x5 = 0
