"""Run trials of a stub on a backend (unicorn by default) and gather one report per convention."""

from __future__ import annotations

from vtlgen import qemu_backend
from vtlgen.assembler import assemble
from vtlgen.emulator import Harness
from vtlgen.plan import Plan
from vtlgen.report import PROPERTIES, Collector, ConventionReport

DEFAULT_TRIALS = 200


def validate(
    plan: Plan,
    stub_text: str,
    stub_file: str,
    trials: int = DEFAULT_TRIALS,
    seed: int = 0,
    backend: str = "unicorn",
) -> ConventionReport:
    """Trial k uses seed `seed + k`, so any violation reproduces with `--seed S --trials 1`."""
    if backend == "qemu-user":
        return qemu_backend.validate(plan, stub_text, stub_file, trials, seed)
    assembly = assemble(stub_text, stub_file)
    harness = Harness(plan, assembly, stub_file)
    collector = Collector()
    counts: list[int] = []
    for k in range(trials):
        result = harness.run(seed + k)
        counts.append(result.instructions)
        for violation in result.violations:
            collector.add(violation)
    return ConventionReport(
        spec_id=plan.spec_id,
        convention_id=plan.convention_id,
        stub=stub_file,
        backend="unicorn",
        trials=trials,
        instructions_per_round_trip=max(counts) if counts else 0,
        lower_bound=plan.budget.lower_bound,
        properties_checked=list(PROPERTIES),
        not_modelled=list(plan.not_modelled),
        violations=collector.violations(),
        occurrences=collector.occurrences(),
    )
