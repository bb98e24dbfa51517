"""Run trials of a stub in the emulator and gather one report per convention."""

from __future__ import annotations

from collections import Counter

from vtlgen.assembler import assemble
from vtlgen.emulator import Harness
from vtlgen.plan import Plan
from vtlgen.report import PROPERTIES, ConventionReport, Violation

DEFAULT_TRIALS = 200


def validate(
    plan: Plan, stub_text: str, stub_file: str, trials: int = DEFAULT_TRIALS, seed: int = 0
) -> ConventionReport:
    """Trial k uses seed `seed + k`, so any violation reproduces with `--seed S --trials 1`."""
    assembly = assemble(stub_text, stub_file)
    harness = Harness(plan, assembly, stub_file)
    first: dict[tuple[str, int | None, str], Violation] = {}
    seen: Counter[str] = Counter()
    counts: list[int] = []
    for k in range(trials):
        result = harness.run(seed + k)
        counts.append(result.instructions)
        for violation in result.violations:
            first.setdefault(violation.key(), violation)
            seen[violation.property] += 1
    ordered = sorted(
        first.values(), key=lambda v: (int(v.property[1:]), v.offset if v.offset is not None else 1 << 30, v.register)
    )
    return ConventionReport(
        spec_id=plan.spec_id,
        convention_id=plan.convention_id,
        stub=stub_file,
        backend="unicorn",
        trials=trials,
        instructions_per_round_trip=max(counts) if counts else 0,
        lower_bound=plan.budget.lower_bound,
        properties_checked=list(PROPERTIES),
        violations=ordered,
        occurrences=dict(sorted(seen.items())),
    )
