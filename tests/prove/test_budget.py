"""The proof's budget: past it the verdict is UNPROVEN, naming the budget; within it, PROVED.
(How long a proof takes is a benchmark's question, not a test's: these check the verdicts.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import FIRST, invoke
from tests.support.stubs import named, plan_for
from vtlgen.prove.budget import DEFAULT_PROOF_BUDGET_S, OutOfBudget, ProofBudget
from vtlgen.prove.run import prove


def test_an_exhausted_budget_is_unproven_and_names_it() -> None:
    stub = named("hvc3_ok_variant")
    plan = plan_for(stub)
    assert prove(plan, stub.text, "ok.S").report.verdict == "PROVED"
    spent = prove(plan, stub.text, "ok.S", budget_s=0.001).report
    assert spent.verdict == "UNPROVEN" and spent.unproven == [
        "ok.S: the proof budget of 0.001 s ran out (--proof-budget)"
    ]


def test_a_violation_found_before_the_budget_runs_out_still_fails() -> None:
    broken = named("hvc3_p1_wrong_offset")
    assert prove(plan_for(broken), broken.text, "p1.S").report.verdict == "VIOLATED"


def test_the_budget_ends_and_says_so() -> None:
    budget = ProofBudget(0.0)
    with pytest.raises(OutOfBudget, match=r"the proof budget of 0 s ran out"):
        budget.check()
    assert ProofBudget(DEFAULT_PROOF_BUDGET_S).remaining_ms() > 0 and DEFAULT_PROOF_BUDGET_S <= 30


def test_cli_proof_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["prove", str(FIRST), "--convention", "smccc"]
    assert invoke(*args).exit_code == 0
    result = invoke(*args, "--proof-budget", "0.001")
    assert result.exit_code == 1 and "UNPROVEN" in result.output and "ran out (--proof-budget)" in result.output
    assert invoke(*args, "--proof-budget", "0").exit_code == 2  # below the option's minimum


def test_affine_terms_of_any_depth_are_read_without_recursion() -> None:
    """A chain of 20 000 additions: deeper than Python's recursion limit."""
    import z3

    from vtlgen.prove.obligations import _affine

    base = z3.BitVec("ctx", 64)
    term = base
    for step in range(20_000):
        term = term + z3.BitVecVal(step % 3, 64)
    assert _affine(term) == (base, sum(step % 3 for step in range(20_000)))
    assert _affine(term + z3.BitVec("other", 64)) is None  # two symbols: no fixed offset
    assert _affine(z3.BitVecVal(5, 64) - base) is None
