"""The proof's resources: a wall-clock budget per stub, which also bounds the solver's time.

A stub of a few forks and one hard question per path can take the solver minutes (six `tbz`
forks with a `udiv` each took 21 minutes), so the proof stops at its budget and says UNPROVEN,
naming the budget: never a pass, never a hang. Every solver check gets the lesser of its own
timeout and what is left (`vtlgen.prove.obligations.BudgetedSolver`), so the solver's total
time is bounded by the same budget. (No z3 here: `vtlgen.verify` reads the default without it.)
"""

from __future__ import annotations

import time

DEFAULT_PROOF_BUDGET_S = 30.0  # per stub; `--proof-budget SECONDS`
COUNTEREXAMPLE_BUDGET_S = 10.0  # per violation: solving its concrete inputs for a replay file


class OutOfBudget(Exception):
    """The budget ran out: the proof of this stub ends here, UNPROVEN."""


class ProofBudget:
    def __init__(self, seconds: float, what: str = "the proof budget"):
        self.seconds = seconds
        self.what = what
        self.deadline = time.monotonic() + seconds

    def remaining_ms(self) -> int:
        return int((self.deadline - time.monotonic()) * 1000)

    def check(self) -> None:
        if self.remaining_ms() <= 0:
            raise OutOfBudget(self.reason())

    def reason(self) -> str:
        return f"{self.what} of {self.seconds:g} s ran out (--proof-budget)"
