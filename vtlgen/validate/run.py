"""Trials of a stub on a backend, gathered into one report per convention: the trials' `Checker`.

Backends observe (`vtlgen.validate.backends`), `vtlgen.validate.contract` judges, and this
module only picks the backend, streams its observations through the judge and counts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vtlgen.isa.assembler import assemble
from vtlgen.plan import Plan
from vtlgen.properties import PROPERTIES
from vtlgen.validate.backends.base import BackendClass, Observable, StubCode, TrialObservation
from vtlgen.validate.contract import TrialJudge
from vtlgen.validate.results import Collector, ConventionReport, StubSource

DEFAULT_TRIALS = 200


def _unicorn() -> BackendClass:
    from vtlgen.validate.backends.unicorn import UnicornBackend

    return UnicornBackend


def _qemu_user() -> BackendClass:
    from vtlgen.validate.backends.qemu_user import QemuUserBackend

    return QemuUserBackend


def _qemu_system() -> BackendClass:
    from vtlgen.validate.backends.qemu_system import QemuSystemBackend

    return QemuSystemBackend


# Backend name -> its class, imported when first asked for (qemu-user needs no unicorn, and the
# reverse). A new backend adds one entry here and one module.
BACKENDS: dict[str, Callable[[], BackendClass]] = {
    "unicorn": _unicorn,
    "qemu-user": _qemu_user,
    "qemu-system": _qemu_system,
}
VECTOR_STATE = {
    "unicorn": "Z, P, FFR and ZA through vtlgen's model of the SVE/SME forms it encodes",
    "qemu-user": "Z, P, FFR and ZA on qemu-aarch64 -cpu max (FEAT_SME_FA64 off)",
}


def backend_class(name: str) -> BackendClass:
    return BACKENDS[name]()


def trial_vector_lengths(plan: Plan, chosen: Sequence[int] | None) -> tuple[int, ...]:
    """The vector lengths trials run at: the chosen ones, else the model's matrix."""
    if chosen:
        return tuple(chosen)
    return plan.model.vector.vector_lengths if plan.model.vector is not None else ()


def vector_length_of(seed: int, lengths: Sequence[int]) -> int:
    """A trial's vector length follows from its seed, so `--seed S --trials 1` reproduces it."""
    return lengths[seed % len(lengths)] if lengths else 0


@dataclass(frozen=True)
class Trials:
    """The trials' checker: `trials` random trials from `seed` on `backend`, at the vector
    lengths chosen (else the model's matrix). Trial k uses seed `seed + k` at vector length
    `vector_length_of(seed + k)`, so any violation reproduces with `--seed S --trials 1`.

    `preconditions`: also run one trial per vector length that breaks an entry requirement
    (SVCR.SM = 0) and say what the stub does then. Asked for, not implied: it is no property
    and doubles the work at each vector length."""

    trials: int = DEFAULT_TRIALS
    seed: int = 0
    backend: str = "unicorn"
    vector_lengths: Sequence[int] | None = None
    preconditions: bool = False

    def check(self, plan: Plan, code: StubCode) -> ConventionReport:
        source = StubSource(code.assembly, code.file)
        kind = backend_class(self.backend)
        # A backend that sees no SVE/SME state runs without a vector length (base.py).
        lengths = trial_vector_lengths(plan, self.vector_lengths) if Observable.VECTOR in kind.observes else ()
        groups: dict[int, list[int]] = {}
        for trial_seed in range(self.seed, self.seed + self.trials):
            groups.setdefault(vector_length_of(trial_seed, lengths), []).append(trial_seed)
        collector = Collector()
        longest = observed = 0
        judge = TrialJudge(plan, source, kind.observes)  # one judge: it keeps what it needs per vector length
        for length, seeds in groups.items():
            runner = kind(vector_length=length) if length else kind()
            for observation in runner.observe(plan, code, seeds):
                observed += 1  # a backend may stop early, e.g. at a stub that does not end
                longest = max(longest, len(observation.trace))
                for violation in judge.trial(observation):
                    collector.add(violation)
        covered = sorted(groups) if lengths else []
        limits = kind.limits
        return ConventionReport(
            spec_id=plan.spec_id,
            convention_id=plan.convention_id,
            stub=code.file,
            backend=kind.name,
            trials=observed,
            instructions_per_round_trip=longest if Observable.TRACE in kind.observes else 0,
            lower_bound=plan.budget.lower_bound,
            properties_checked=[p for p in PROPERTIES if p not in limits or "not observed" not in limits[p]],
            properties_unobservable=[f"{p}: {why}" for p, why in limits.items()],
            not_modelled=list(plan.not_modelled if covered else (*plan.vector_groups, *plan.not_modelled)),
            violations=collector.violations(),
            occurrences=collector.occurrences(),
            vector_lengths=covered,
            vector_state=VECTOR_STATE.get(kind.name, "") if covered else "",
            preconditions=(
                precondition_trials(plan, code, source, self.backend, covered, self.seed)
                if covered and self.preconditions
                else []
            ),
        )


def stub_code(stub_text: str, stub_file: str) -> StubCode:
    """The stub as every checker takes it: text, file name and machine code (assembled once)."""
    return StubCode(stub_text, stub_file, assemble(stub_text, stub_file))


def validate(
    plan: Plan,
    stub_text: str,
    stub_file: str,
    trials: int = DEFAULT_TRIALS,
    seed: int = 0,
    backend: str = "unicorn",
    vector_lengths: Sequence[int] | None = None,
    preconditions: bool = False,
) -> ConventionReport:
    """`Trials` on one stub given as text (see there)."""
    checker = Trials(trials, seed, backend, vector_lengths, preconditions)
    return checker.check(plan, stub_code(stub_text, stub_file))


def precondition_trials(
    plan: Plan, code: StubCode, source: StubSource, backend: str, lengths: Sequence[int], seed: int
) -> list[str]:
    """One trial per vector length that breaks the spec's SVCR.SM = 0 requirement: what the
    stub does when entered in streaming mode, said as the caller's broken precondition."""
    vector = plan.model.vector
    if vector is None or not any(r.state == "svcr.sm" and r.value == 0 for r in vector.requirements):
        return []
    outcomes: dict[str, list[int]] = {}
    for length in lengths:
        for observation in backend_class(backend)(vector_length=length, streaming=True).observe(plan, code, [seed]):
            outcomes.setdefault(_streaming_outcome(observation, source), []).append(length)
    return [
        f"SVCR.SM = 0 broken (entered in streaming mode) at VL {', '.join(map(str, at))}: {what}"
        for what, at in outcomes.items()
    ]


def _streaming_outcome(observation: TrialObservation, source: StubSource) -> str:
    end = observation.end
    if end.kind == "exception" and end.offset is not None:
        where = source.violation("P9", "", end.offset, "", "", "", observation.seed)
        return (
            f"the stub faults at +0x{end.offset:x} `{where.disassembly}` ({where.source_file}:{where.source_line}), "
            "as the requirement says; a caller that breaks it gets SIGILL, not a stub fault"
        )
    if end.kind == "returned":
        return "the stub runs to the end; the requirement stands for the context's vector length"
    return f"the trial ends as `{end.kind}`"
