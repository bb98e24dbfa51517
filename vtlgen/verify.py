"""Verification of a stub against P1-P10: the checkers composed, for the library and the CLI.

A checker (`vtlgen.validate.results.Checker`) returns one report shape: trials on a backend
at the chosen vector lengths (`vtlgen.validate.run.Trials`), the proof for every input
(`vtlgen.prove.run.ProofChecker`), or a counterexample replayed as one trial
(`vtlgen.prove.replay.Replay`). `verify` runs what the caller asks for on one stub and
`write_html` puts the trials' reports on a page; `vtlgen validate` only parses and prints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vtlgen.plan import Plan
from vtlgen.report import html_page
from vtlgen.validate.backends.base import StubCode
from vtlgen.validate.results import Checker, ConventionReport
from vtlgen.validate.run import DEFAULT_TRIALS, Trials, stub_code

if TYPE_CHECKING:
    from vtlgen.prove.counterexample import Concrete


NO_PROOF_NOTE = "proof not run (--no-proof): this verdict rests on sampling alone, the trials' inputs"


@dataclass(frozen=True)
class Options:
    """What to check. `proof`: also prove P1-P10 for every input; a stub passes only when the
    trials hold and the proof is PROVED (UNPROVEN fails, with its reasons on their own lines);
    without it the trials' report says the verdict rests on sampling alone. `preconditions`: also run the
    trials that break an entry requirement (`Trials.preconditions`)."""

    trials: int = DEFAULT_TRIALS
    seed: int = 0
    backend: str = "unicorn"
    vector_lengths: Sequence[int] | None = None
    proof: bool = True
    preconditions: bool = False


@dataclass(frozen=True)
class StubVerdict:
    plan: Plan
    code: StubCode
    reports: list[ConventionReport]  # in the order they are printed: the trials', then the proof's
    trials: ConventionReport | None  # the trials' report, which the HTML page shows; None for a replay

    @property
    def ok(self) -> bool:
        return all(report.ok for report in self.reports)


def verify(
    plan: Plan, stub_text: str, stub_file: str, options: Options = Options(), replay: Concrete | None = None
) -> StubVerdict:
    """Check one stub: the trials, then the proof; or, given a counterexample, its replay alone.

    Raises AssemblyError (the stub does not assemble), BackendError (the backend cannot run
    it) and ReplayError (the counterexample is not one of this plan's trials)."""
    if replay is not None:
        from vtlgen.prove.replay import Replay, check_fits  # z3 and SLEIGH load only when needed

        check_fits(plan, replay)
        code = stub_code(stub_text, stub_file)
        return StubVerdict(plan, code, [Replay(replay).check(plan, code)], None)
    code = stub_code(stub_text, stub_file)
    checkers: list[Checker] = [
        Trials(options.trials, options.seed, options.backend, options.vector_lengths, options.preconditions)
    ]
    if options.proof:
        from vtlgen.prove import run as proof

        checkers.append(proof.ProofChecker())
    reports = [checker.check(plan, code) for checker in checkers]
    trials = reports[0]
    if not options.proof:  # no proof, no pass: trials alone are the user's explicit choice, and say so
        trials.notes.append(NO_PROOF_NOTE)
    return StubVerdict(plan, code, reports, trials)


def write_html(path: Path, verdicts: Sequence[StubVerdict], reproduce: Callable[[Plan], str]) -> None:
    """The trials' reports as one self-contained page; `reproduce(plan)` is the command that
    runs a convention again (the page adds --seed S --trials 1)."""
    runs = [
        html_page.StubRun(v.plan, v.code.text, v.code.file, v.trials.as_dict(), reproduce(v.plan), v.code.assembly)
        for v in verdicts
        if v.trials is not None
    ]
    html_page.write(path, runs)
