"""The proof backend (vtlgen/prove/run.py over vtlgen/prove/): it proves the correct stubs,
finds every broken one with the property it breaks, agrees with the unicorn trials
property by property (differences listed with their reason), and each counterexample
replays as a unicorn trial that shows the same violation."""

from __future__ import annotations

from dataclasses import replace

import pytest
from ruamel.yaml import YAML

from tests.support import DATA, FIRST, edited, mutation
from tests.support.stubs import corpus, plan_for
from vtlgen.generate import artifacts, render
from vtlgen.isa.assembler import AssemblyError, assemble
from vtlgen.lower.convention import lower
from vtlgen.prove.replay import ReplayError, replay
from vtlgen.prove.run import PROVED, UNPROVEN, VIOLATED, prove, vector_instruction
from vtlgen.spec.loader import load
from vtlgen.validate.results import ConventionReport
from vtlgen.validate.run import validate

# The corpus stubs without SVE/SME instructions are compared with the trials below; those
# with them are proved at every VL (tests/prove/test_sve_proof.py and the test below).
PLANS = {p.convention_id: p for p in lower(load(FIRST).spec, FIRST.name)}
ALL = corpus()
CORPUS = [stub for stub in ALL if vector_instruction(stub.text, "stub.S") is None]
VECTOR_CORPUS = [stub for stub in ALL if stub not in CORPUS]

EQUIVALENT = YAML(typ="safe").load((DATA / "equivalent_mutants.yaml").read_text())
MUTANT_SAMPLE = {"smccc": 1, "hvc3": 3}  # every mutant of smccc, every 3rd of hvc3 (the suite's time budget)


def stronger(proof: ConventionReport, trials: ConventionReport) -> str | None:
    """Why the two may differ here, when the proof is the one that follows the property; else None.

    The proof may only find MORE: a property every trial missed (inputs no trial drew). Each
    such case must also replay in unicorn, which the tests that call this check.
    """
    if trials.broken_properties() - proof.broken_properties():
        return None
    return "the proof covers inputs the trials did not draw"


def generated(conv: str) -> str:
    return render.standalone_asm(PLANS[conv], FIRST.name)


def replayed_properties(conv: str, text: str) -> list[tuple[str, set[str]]]:
    """For each violation the proof finds: its property, and what the unicorn replay shows."""
    plan = PLANS[conv]
    result = prove(plan, text, "stub.S")
    return [(v.property, {r.property for r in replay(plan, text, "stub.S", c)}) for v, c in result.counterexamples]


@pytest.mark.parametrize("conv", ["hvc3", "smccc"])
def test_generated_stubs_are_proved(conv: str) -> None:
    report = prove(PLANS[conv], generated(conv), f"{conv}.S").report
    assert report.verdict == PROVED, report.summary()
    assert report.ok and not report.violations and not report.unproven
    assert report.paths == 1 and report.backend == "proof"


# Corpus stubs where the proof and the trials differ, each with its reason. Apart from these,
# the proof may only be stronger (a property the trials missed, which its replay then shows).
PROOF_DIFFERS = {
    "hvc3_p9_skips_trap_on_vtl0_value": (
        "stronger: the branch that skips the trap needs a VTL0 value few trials draw; the proof finds it, "
        "and its counterexample replays as P9"
    ),
    "hvc3_p1_orr_for_add": (
        "a stricter reading of P8: `orr` for `add` makes the q loads' address depend on bit 8 of ctx, so it is "
        "not a fixed offset from the context and cannot be proved to lie in one slot; a trial sees wrong values (P1)"
    ),
    "smccc_ok_exclusive_retry": (
        "UNPROVEN, never PROVED: a store-exclusive may fail on every retry, so no bound on the loop is proved; "
        "the trials' store-exclusive never fails"
    ),
}


@pytest.mark.parametrize("stub", CORPUS, ids=[s.name for s in CORPUS])
def test_corpus_agrees_with_the_trials(stub) -> None:  # type: ignore[no-untyped-def]
    plan = plan_for(stub)
    proof = prove(plan, stub.text, f"{stub.name}.S").report
    trials = validate(plan, stub.text, f"{stub.name}.S", trials=20)
    if stub.name in PROOF_DIFFERS:  # the listed difference is real, and never a pass the trials deny
        assert proof.broken_properties() != trials.broken_properties() or proof.verdict == UNPROVEN
        assert proof.ok or proof.verdict in (VIOLATED, UNPROVEN)
        assert not (proof.verdict == PROVED and trials.violations)
        return
    if not stub.expected:
        assert proof.verdict == PROVED, proof.summary()
    else:
        assert proof.verdict == VIOLATED
        assert stub.expected <= proof.broken_properties()
    if proof.broken_properties() != trials.broken_properties():
        assert stronger(proof, trials), (stub.name, proof.broken_properties(), trials.broken_properties())


@pytest.mark.parametrize("stub", [s for s in CORPUS if s.expect != "pass"], ids=lambda s: s.name)
def test_corpus_counterexamples_replay_with_the_same_property(stub) -> None:  # type: ignore[no-untyped-def]
    """Two semantics, one answer: unicorn, run on each counterexample and judged by the
    contract, reports the proof's property (the location and values are each side's own wording)."""
    plan = plan_for(stub)
    result = prove(plan, stub.text, "stub.S")
    assert result.counterexamples
    for violation, concrete in result.counterexamples:
        shown = {v.property for v in replay(plan, stub.text, "stub.S", concrete)}
        # A listed difference replays as what the trials call it (orr for add: P1, not P8).
        wanted = stub.expected if stub.name in PROOF_DIFFERS else {violation.property}
        assert wanted <= shown, (violation.describe(), shown)


def test_violation_names_the_instruction_and_concrete_values() -> None:
    text = edited(generated("smccc"), "movz   w0, #0x1", "movz   w0, #0x2")
    report = prove(PLANS["smccc"], text, "stub.S").report
    (violation,) = report.violations
    assert (violation.property, violation.register, violation.disassembly) == ("P1", "x0", "hvc #0")
    assert (violation.expected, violation.actual) == ("0x46000001", "0x46000002")
    assert violation.source_line is not None and "--replay" in violation.describe()


def test_a_truncated_context_pointer_is_found_and_replays() -> None:
    """`mov w30, w0` keeps only the low half of ctx: the proof finds it for a context above
    4 GiB, and the counterexample, placed where the trials place contexts, replays."""
    text = edited(generated("hvc3"), "mov    x30, x0", "mov    w30, w0")
    result = prove(PLANS["hvc3"], text, "stub.S")
    assert "P8" in result.report.broken_properties()
    concrete = next(c for v, c in result.counterexamples if v.property == "P8")
    assert concrete.entry["x0"] >> 32, "the counterexample puts the context above 4 GiB"
    assert "P8" in {v.property for v in replay(PLANS["hvc3"], text, "stub.S", concrete)}


def test_a_counterexample_outside_the_trials_windows_is_refused() -> None:
    text = edited(generated("hvc3"), "mov    x30, x0", "mov    w30, w0")
    _, concrete = next(iter(prove(PLANS["hvc3"], text, "stub.S").counterexamples))
    far = replace(concrete, entry={**concrete.entry, "x0": 0x1000})
    with pytest.raises(ReplayError, match="outside the windows the trials map"):
        replay(PLANS["hvc3"], text, "stub.S", far)


def test_a_branch_on_a_vtl0_value_is_found_and_replays() -> None:
    """`cbz x5` over the trap: x5 = ctx->x[5] is never 0 in a random trial; the proof finds 0."""
    text = edited(generated("hvc3"), "\thvc    #3", "\tcbz    x5, skip\n\thvc    #3\nskip:")
    report = prove(PLANS["hvc3"], text, "stub.S").report
    assert report.paths == 2 and "P9" in report.broken_properties()
    assert ("P9", {"P9"}) in [(p, shown & {"P9"}) for p, shown in replayed_properties("hvc3", text)]


def test_address_arithmetic_that_works_at_one_address_is_found() -> None:
    """`orr` for `add`: right only when bit 8 of ctx is clear, as at the trials' address."""
    text = edited(
        generated("hvc3"), "ldp    x16, x17, [x30, #128]", "orr    x16, x30, #0x100\n\tldp    x16, x17, [x16, #-128]"
    )
    assert "P8" in prove(PLANS["hvc3"], text, "stub.S").report.broken_properties()


def test_x30_as_scratch_while_the_record_holds_it_is_proved() -> None:
    """P3: ctx may live in x30 across the trap while the frame record holds the entry x30
    (the generated hvc3 stub does so); without a live record, it may not."""
    assert "mov    x30, x0" in generated("hvc3")
    assert prove(PLANS["hvc3"], generated("hvc3"), "stub.S").report.verdict == PROVED
    no_record = edited(generated("smccc"), "mov    x2, x0", "mov    x30, x0\n\tmov    x2, x30")
    no_record = edited(no_record, "mov    x29, sp", "")
    report = prove(PLANS["smccc"], no_record, "stub.S").report
    assert "P3" in report.broken_properties()


def test_a_record_aligned_to_8_bytes_is_proved() -> None:
    """Revised P6: the Linux unwinder rejects only fp & 7 (arch/arm64/kernel/stacktrace.c)."""
    text = edited(generated("smccc"), "stp    x29, x30, [sp, #-16]!", "sub    sp, sp, #32\n\tstp    x29, x30, [sp, #8]")
    text = edited(text, "mov    x29, sp", "add    x29, sp, #8")
    text = edited(text, "ldp    x29, x30, [sp], #16", "ldp    x29, x30, [sp, #8]\n\tadd    sp, sp, #32")
    assert prove(PLANS["smccc"], text, "stub.S").report.verdict == PROVED


@pytest.mark.parametrize(
    ("insert", "why"),
    [
        ("msr    tpidr_el1, x9", "tpidr_el1"),
        ("isb", "InstructionSynchronizationBarrier"),
        ("hint   #25", "pointer authentication"),  # paciasp: SLEIGH's v8A makes it a no-op
    ],
)
def test_what_is_not_modelled_is_unproven_never_proved(insert: str, why: str) -> None:
    text = edited(generated("smccc"), "mov    x2, x0", f"{insert}\n\tmov    x2, x0")
    report = prove(PLANS["smccc"], text, "stub.S").report
    assert report.verdict == UNPROVEN and not report.ok
    (gap,) = report.unproven
    assert why in gap and insert.split()[0] in gap


def test_a_floating_point_compare_on_vtl0_values_forks() -> None:
    """fcmp on VTL0's d0/d1: unordered (NaN), then equal or not; every outcome is explored."""
    text = edited(generated("smccc"), "mov    x2, x0", "fcmp   d0, d1\n\tb.eq   equal\nequal:\n\tmov    x2, x0")
    report = prove(PLANS["smccc"], text, "stub.S").report
    assert report.verdict == PROVED and report.paths == 3


def test_a_store_exclusive_may_fail() -> None:
    """A frame record pushed with a store-exclusive: when it fails, the record lacks the
    return address (P6, and what follows from it: x30 unprotected, a return elsewhere).
    Only that path breaks."""
    push = "sub    sp, sp, #16\n\tstr    x29, [sp]\n\tadd    x9, sp, #8\n\tstxr   w10, x30, [x9]"
    text = edited(generated("smccc"), "stp    x29, x30, [sp, #-16]!", push)
    report = prove(PLANS["smccc"], text, "stub.S").report
    assert report.paths == 2 and report.verdict == VIOLATED
    assert "P6" in report.broken_properties()
    assert prove(PLANS["smccc"], generated("smccc"), "stub.S").report.paths == 1


# hvc3's stub moves the SVE/SME state: many times smccc's mutants, each validated in full,
# a minute or more alone; `nox -s tests` runs it, the quick loop keeps smccc.
@pytest.mark.parametrize("conv", [pytest.param("hvc3", marks=pytest.mark.slow), "smccc"])
def test_mutants_killed_agreeing_with_the_trials_and_replayed(conv: str) -> None:
    """Every sampled mutant: the proof kills it unless it is a listed equivalent mutant, agrees with
    the trials property by property (or is stronger, for a listed reason), and each counterexample
    replays in unicorn with its property."""
    plan = PLANS[conv]
    every = [m for m in mutation.mutants(generated(conv)) if _assembles(m.text)]
    sample = every[:: MUTANT_SAMPLE[conv]]
    sample += [m for m in every if " conduit " in m.name and m not in sample]  # one trap: few of them
    kinds = {kind for kind in (" delete ", " swap ", " shift ", " conduit ") if any(kind in m.name for m in sample)}
    assert len(kinds) == 4 and len(sample) > 20
    survivors = set()
    for mutant in sample:
        result = prove(plan, mutant.text, "mutant.S")
        proof = result.report
        trials = validate(plan, mutant.text, "mutant.S", trials=3)
        assert proof.verdict != UNPROVEN, (mutant.name, proof.unproven)
        if proof.ok:
            survivors.add(mutant.name)
        if proof.broken_properties() != trials.broken_properties():
            assert stronger(proof, trials), (mutant.name, proof.broken_properties(), trials.broken_properties())
        for violation, concrete in result.counterexamples:
            shown = {v.property for v in replay(plan, mutant.text, "mutant.S", concrete)}
            assert violation.property in shown, (mutant.name, violation.property, shown)
    # The equivalent mutants are listed by line of the 2.0.0 stubs; this is 1.0.0's: same mutants, other lines.
    assert {_unlined(name) for name in survivors} <= {_unlined(name) for name in EQUIVALENT[f"hyperv_vtl/{conv}"]}


def _unlined(mutant: str) -> str:
    """`L16 delete `hint #34`` -> `delete `hint #34``."""
    return mutant.split(" ", 1)[1]


def _assembles(text: str) -> bool:
    try:
        assemble(text, "mutant.S")
    except AssemblyError:
        return False
    return True


def _hvc3(old: str, new: str) -> str:
    return edited(generated("hvc3"), old, new)


def _smccc(old: str, new: str) -> str:
    return edited(generated("smccc"), old, new)


# Classes of stub that random trials misjudge (an ABI reading, or inputs a trial never draws),
# with the proof's verdict. `replays`: the counterexample's unicorn trial shows the property;
# False where it needs addresses the trials do not use (ctx above 4 GiB) or where the unicorn
# harness cannot observe it yet (dc zva writes, writes far past the context, mrs nzcv).
CLASSES = [
    (
        "smccc: cbnz w0 on the status after the call",
        "smccc",
        _smccc("\thvc    #0", "\thvc    #0\n\tcbnz   w0, out\nout:"),
        set(),
        False,
    ),
    (
        "smccc: b.eq on flags the call may change",
        "smccc",
        _smccc("\thvc    #0", "\thvc    #0\n\tb.eq   out\nout:"),
        {"P10"},
        True,
    ),
    (
        "smccc: mrs nzcv after the call",
        "smccc",
        _smccc("\thvc    #0", "\thvc    #0\n\tmrs    x9, nzcv"),
        {"P10"},
        False,
    ),
    (
        "smccc: the status -1 takes another path",
        "smccc",
        _smccc("\thvc    #0", "\thvc    #0\n\tcmn    x0, #1\n\tb.ne   out\n\tbrk    #0\nout:"),
        {"P9"},
        True,
    ),
    (
        "smccc: movk builds the 32-bit function ID in x0",
        "smccc",
        _smccc("movz   w0, #0x1", "movk   x0, #0x1"),
        set(),
        False,
    ),
    (
        "smccc: mov w2, w0 truncates the context address",
        "smccc",
        _smccc("mov    x2, x0", "mov    w2, w0"),
        {"P1"},
        False,
    ),
    (
        "smccc: dc zva on the context",
        "smccc",
        _smccc("\tmov    x2, x0", "\tdc     zva, x0\n\tmov    x2, x0"),
        {"P8"},
        False,
    ),
    (
        "smccc: a store 2 KiB past the context",
        "smccc",
        _smccc("\tmov    x2, x0", "\tstr    xzr, [x0, #2048]\n\tmov    x2, x0"),
        {"P8"},
        False,
    ),
    (
        "smccc: a store below the context",
        "smccc",
        _smccc("\tmov    x2, x0", "\tstr    xzr, [x0, #-8]\n\tmov    x2, x0"),
        {"P8"},
        True,
    ),
    (
        "hvc3: tbnz on bit 63 of a VTL0 value skips a store",
        "hvc3",
        _hvc3("\tstp    x2, x3, [x30, #16]", "\ttbnz   x2, #63, skip\n\tstp    x2, x3, [x30, #16]\nskip:"),
        {"P4"},
        True,
    ),
    ("hvc3: brk", "hvc3", _hvc3("\thvc    #3", "\tbrk    #1\n\thvc    #3"), {"P9"}, True),
]


@pytest.mark.parametrize(("conv", "text", "expected", "replays"), [c[1:] for c in CLASSES], ids=[c[0] for c in CLASSES])
def test_classes_the_trials_misjudge(conv: str, text: str, expected: set[str], replays: bool) -> None:
    result = prove(PLANS[conv], text, "stub.S")
    assert result.report.broken_properties() == expected
    assert result.report.verdict == (VIOLATED if expected else PROVED)
    if replays:
        for violation, concrete in result.counterexamples:
            assert violation.property in {v.property for v in replay(PLANS[conv], text, "stub.S", concrete)}


@pytest.mark.parametrize("spec", ["hyperv_vtl_posted.yaml", "hyperv_vtl_sve.yaml"])
def test_stubs_of_other_specs_agree_with_the_trials(spec: str) -> None:
    """The posted convention (x29/x30 loaded from the context) breaks P3 in both; the others pass."""
    for item in artifacts.build(load(DATA / spec)):
        name = next(path for path in item.files if path.endswith(".S") and "_linux" not in path)
        text = item.files[name]
        proof = prove(item.plan, text, name).report
        trials = validate(item.plan, text, name, trials=20)
        assert proof.verdict != UNPROVEN and proof.broken_properties() == trials.broken_properties()
        assert proof.ok == (item.plan.convention_id != "posted")


def test_an_unbounded_retry_loop_is_unproven() -> None:
    """A store-exclusive retry loop may fail forever: P9's bound cannot be proved, and is not claimed."""
    loop = "\tmov    x29, sp\n\tadd    x10, sp, #152\nretry:\n\tldaxr  x9, [x10]\n\tstlxr  w11, x9, [x10]"
    loop += "\n\tcbnz   w11, retry"
    report = prove(PLANS["hvc3"], _hvc3("\tmov    x29, sp", loop), "stub.S").report
    assert report.verdict == UNPROVEN and not report.violations
    assert any("loop" in gap or "paths" in gap for gap in report.unproven)


def test_every_private_register_is_watched(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A spec that makes x28 private: the generated stubs are proved, and a write to x28 is P3."""
    text = edited(
        FIRST.read_text(),
        "  x19-x28:\n    class: shared\n    slot: x[19]\n    sources: [tlfs-vsm]\n",
        "  x19-x27:\n    class: shared\n    slot: x[19]\n    sources: [tlfs-vsm]\n"
        "  x28:\n    class: private\n    sources: [tlfs-vsm]\n",
    )
    (tmp_path / "spec.yaml").write_text(text)
    for item in artifacts.build(load(tmp_path / "spec.yaml")):
        name = next(path for path in item.files if path.endswith(".S") and "_linux" not in path)
        stub = item.files[name]
        assert prove(item.plan, stub, name).report.verdict == PROVED
        broken = edited(stub, "\tmov    x29, sp", "\tmov    x29, sp\n\tmov    x28, x0")
        assert "P3" in prove(item.plan, broken, name).report.broken_properties()


def test_a_code_address_handed_to_vtl0_is_a_leak() -> None:
    """VTL2's text addresses are VTL2 values (P2), as the trials see them."""
    text = _hvc3("\thvc    #3", "\tadr    x5, here\nhere:\n\thvc    #3")
    assert prove(PLANS["hvc3"], text, "stub.S").report.broken_properties() == {"P2"}


# Vector corpus stubs where the proof's verdict differs from the expectation, with the reason.
VECTOR_PROOF_DIFFERS = {
    "hvc3_ok_1x_may_zero_za": (
        "stronger: `zero {za}` takes an SME exception when the caller has PSTATE.ZA = 0 (Arm ARM, "
        "CheckSMEAndZAEnabled), which the spec allows at entry; the trials always enter with ZA on"
    ),
}


@pytest.mark.parametrize("stub", VECTOR_CORPUS, ids=lambda s: s.name)
def test_a_stub_with_sve_gets_its_verdict_at_every_vector_length(stub) -> None:  # type: ignore[no-untyped-def]
    """SVE/SME stubs: PROVED when correct, VIOLATED with their property when broken."""
    report = prove(plan_for(stub), stub.text, "stub.S").report
    assert report.vector_lengths, report.summary()
    if stub.name in VECTOR_PROOF_DIFFERS:
        assert report.verdict == VIOLATED, report.summary()
    elif stub.expected:
        assert report.verdict == VIOLATED and stub.expected <= report.broken_properties(), report.summary()
    else:
        assert report.verdict == PROVED, report.summary()
