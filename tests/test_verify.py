"""`vtlgen.verify`: the checkers (trials, proof, replay) composed on one stub, as the CLI uses them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.support import FIRST, SPEC, edited
from tests.support.stubs import named, plan_for
from vtlgen import verify
from vtlgen.generate import render
from vtlgen.isa.assembler import AssemblyError
from vtlgen.lower.convention import lower
from vtlgen.plan import Plan
from vtlgen.prove.replay import ReplayError
from vtlgen.prove.run import prove
from vtlgen.spec.loader import load, load_text
from vtlgen.validate import run

CURRENT = {p.convention_id: p for p in lower(load(SPEC).spec, "spec/hyperv_vtl.yaml")}  # SVE/SME in hvc3
NO_SVE = {p.convention_id: p for p in lower(load(FIRST).spec, FIRST.name)}
FEW = verify.Options(trials=4)


def generated(plan: Plan) -> str:
    return render.standalone_asm(plan, plan.spec_file)


def test_precondition_trials_run_only_when_asked() -> None:
    plan = CURRENT["smccc"]
    text = generated(plan)
    assert run.validate(plan, text, "s.S", trials=4).preconditions == []  # a library caller's default
    asked = run.validate(plan, text, "s.S", trials=4, preconditions=True).preconditions
    assert asked and all(line.startswith("SVCR.SM = 0 broken (entered in streaming mode)") for line in asked)
    through_verify = verify.verify(plan, text, "s.S", verify.Options(trials=4, proof=False, preconditions=True))
    assert through_verify.reports[0].preconditions == asked


def test_the_trials_then_the_proof() -> None:
    plan = NO_SVE["hvc3"]
    verdict = verify.verify(plan, generated(plan), "s.S", FEW)
    assert [r.backend for r in verdict.reports] == ["unicorn", "proof"] and verdict.ok
    assert verdict.trials is verdict.reports[0]
    alone = verify.verify(plan, generated(plan), "s.S", verify.Options(trials=4, proof=False))
    assert [r.backend for r in alone.reports] == ["unicorn"]
    assert alone.reports[0].notes == [verify.NO_PROOF_NOTE]
    broken = named("hvc3_p1_wrong_offset")
    failed = verify.verify(plan_for(broken), broken.text, "p1.S", FEW)
    assert not failed.ok and {r.backend for r in failed.reports if not r.ok} == {"unicorn", "proof"}


def test_an_sve_stub_is_proved_and_no_proof_is_said() -> None:
    plan = CURRENT["hvc3"]
    verdict = verify.verify(plan, generated(plan), "s.S", FEW)
    assert [r.backend for r in verdict.reports] == ["unicorn", "proof"] and verdict.ok
    alone = verify.verify(plan, generated(plan), "s.S", replace(FEW, proof=False))
    assert alone.reports[0].notes == [verify.NO_PROOF_NOTE]


def test_unproven_is_no_pass() -> None:
    """No proof, no pass: trials that hold and a proof that is UNPROVEN fail."""
    plan = CURRENT["hvc3"]
    text = generated(plan).replace("\thvc    #3", "\tldr    za[w12, 0], [x1]\n\thvc    #3", 1)
    verdict = verify.verify(plan, text, "s.S", FEW)
    proof = verdict.reports[-1]
    assert proof.backend == "proof" and not proof.ok and not verdict.ok
    assert "UNPROVEN" in proof.summary() or proof.violations


def test_a_replay_is_one_trial_through_the_backend_and_its_page_says_so(tmp_path: Path) -> None:
    broken = named("hvc3_p1_wrong_offset")
    plan = plan_for(broken)
    (violation, concrete), *_ = prove(plan, broken.text, "p1.S").counterexamples
    verdict = verify.verify(plan, broken.text, "p1.S", FEW, replay=concrete)
    (report,) = verdict.reports
    assert report.backend == "unicorn-replay" and report.trials == 1 and verdict.trials is None
    assert violation.property in report.broken_properties()
    page = tmp_path / "report.html"
    verify.write_html(page, [verdict], lambda plan: "vtlgen validate")
    shown = page.read_text()  # the replay's one trial, its violation, and the process's verdict
    assert "p1.S" in shown and "unicorn-replay" in shown and 'id="verdict">violations found' in shown
    # A counterexample of another convention says so before the stub is even assembled.
    with pytest.raises(ReplayError, match="the file is for"):
        verify.verify(NO_SVE["smccc"], "not an instruction\n", "x.S", FEW, replay=concrete)
    with pytest.raises(AssemblyError):
        verify.verify(plan, "not an instruction\n", "x.S", FEW, replay=concrete)


def test_capabilities_are_read_off_the_class() -> None:
    """Which properties a backend checks, and at which vector lengths, without building one."""
    unicorn = run.backend_class("unicorn")
    assert isinstance(unicorn, type) and unicorn.name == "unicorn" and not unicorn.limits
    qemu = run.backend_class("qemu-user")
    assert isinstance(qemu, type) and qemu.limits["P7"].startswith("not observed")


def test_validate_writes_sarif_with_the_exit_code_of_the_text(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from vtlgen.cli import app

    broken = named("hvc3_p1_wrong_offset")
    stub = broken.write(tmp_path)
    args = ["validate", str(FIRST), "--convention", "hvc3", "--stub", str(stub), "--trials", "5", "--no-proof"]
    text = CliRunner().invoke(app, args)
    result = CliRunner().invoke(app, [*args, "--format", "sarif"])
    assert text.exit_code == result.exit_code == 1, result.output
    run = json.loads(result.output)["runs"][0]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == [f"P{n}" for n in range(1, 11)]
    assert {r["ruleId"] for r in run["results"]} == {"P1"}
    # the stub lies outside the checkout: named by its file name, never by an absolute path
    assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == stub.name for r in run["results"])


LEAF_EDITS = {  # an edit just before the trap -> the property it breaks
    "mov    x29, x2": "P6",  # x29 no longer the caller's frame pointer: the unwinder is lost
    "mov    x30, x2": "P3",  # a leaf's x30 is the return address itself, with no record to hold it
    "sub    sp, sp, #16": "P5",  # SP not given back
    "mov    x19, #1": "P5",  # a callee-saved register used without saving it
}


def test_a_leaf_stub_passes_and_its_edits_fail_in_trials_and_proof() -> None:
    text = edited(
        FIRST.read_text(), "    transport: memory\n", "    transport: memory\n    stub: {frame_record: false}\n"
    )
    plan = lower(load_text(text, "leaf.yaml").spec, "leaf.yaml")[1]
    stub = generated(plan)
    verdict = verify.verify(plan, stub, "s.S", FEW)
    assert verdict.ok and [r.backend for r in verdict.reports] == ["unicorn", "proof"]
    assert {r.instructions_per_round_trip for r in verdict.reports} == {plan.budget.lower_bound}
    for edit, broken in LEAF_EDITS.items():
        assert stub.count("\thvc") == 1
        failed = verify.verify(plan, stub.replace("\thvc", f"\t{edit}\n\thvc"), "s.S", FEW)
        assert all(broken in r.broken_properties() for r in failed.reports), (edit, failed.reports)
