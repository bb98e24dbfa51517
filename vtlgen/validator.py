"""Run trials of a stub on a backend and gather one report per convention.

Backends observe (`vtlgen.backends`), `vtlgen.contract` judges, and this module only
picks the backend, streams its observations through the judge and counts.
"""

from __future__ import annotations

from collections.abc import Callable

from vtlgen.assembler import assemble
from vtlgen.backends.base import Backend, Observable, StubCode
from vtlgen.contract import Judge
from vtlgen.plan import Plan
from vtlgen.report import PROPERTIES, Collector, ConventionReport, StubSource

DEFAULT_TRIALS = 200


def _unicorn() -> Backend:
    from vtlgen.backends.unicorn import UnicornBackend

    return UnicornBackend()


def _qemu_user() -> Backend:
    from vtlgen.backends.qemu_user import QemuUserBackend

    return QemuUserBackend()


# Backend name -> factory. A new backend adds one entry here and one module.
BACKENDS: dict[str, Callable[[], Backend]] = {"unicorn": _unicorn, "qemu-user": _qemu_user}


def validate(
    plan: Plan,
    stub_text: str,
    stub_file: str,
    trials: int = DEFAULT_TRIALS,
    seed: int = 0,
    backend: str = "unicorn",
) -> ConventionReport:
    """Trial k uses seed `seed + k`, so any violation reproduces with `--seed S --trials 1`."""
    runner = BACKENDS[backend]()
    code = StubCode(stub_text, stub_file, assemble(stub_text, stub_file))
    source = StubSource(code.assembly, stub_file)
    judge = Judge(plan, source, runner.observes)
    collector = Collector()
    longest = observed = 0
    for observation in runner.observe(plan, code, range(seed, seed + trials)):
        observed += 1  # a backend may stop early, e.g. at a stub that does not end
        longest = max(longest, len(observation.trace))
        for violation in judge.trial(observation):
            collector.add(violation)
    return ConventionReport(
        spec_id=plan.spec_id,
        convention_id=plan.convention_id,
        stub=stub_file,
        backend=runner.name,
        trials=observed,
        instructions_per_round_trip=longest if Observable.TRACE in runner.observes else 0,
        lower_bound=plan.budget.lower_bound,
        properties_checked=[p for p in PROPERTIES if p not in runner.limits or "not observed" not in runner.limits[p]],
        properties_unobservable=[f"{p}: {why}" for p, why in runner.limits.items()],
        not_modelled=list(plan.not_modelled),
        violations=collector.violations(),
        occurrences=collector.occurrences(),
    )
