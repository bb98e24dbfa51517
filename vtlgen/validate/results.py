"""Validation results: violations, and the report for humans and CI (the properties: `vtlgen.properties`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Protocol

from vtlgen.isa.assembler import Assembly
from vtlgen.isa.disassembler import decode
from vtlgen.plan import Plan
from vtlgen.validate.backends.base import StubCode


@dataclass(frozen=True)
class Violation:
    property: str
    message: str
    offset: int | None  # instruction offset from the stub's entry
    disassembly: str
    source_line: int | None
    source_file: str
    register: str  # register or memory location; "" when neither applies
    expected: str
    actual: str
    seed: int  # the first trial that showed it
    trials: int = 1  # how many trials showed it

    def key(self) -> tuple[str, int | None, str]:
        return (self.property, self.offset, self.register)

    def describe(self) -> str:
        where = f"+0x{self.offset:x}" if self.offset is not None else "end"
        line = f"{self.source_file}:{self.source_line}" if self.source_line else self.source_file
        values = f" {self.register}: expected {self.expected}, got {self.actual}" if self.register else ""
        # A proof's counterexample has no seed (seed < 0): its inputs go to a replay file.
        reproduce = (
            f"seen in {self.trials} trial(s); reproduce with --seed {self.seed} --trials 1"
            if self.seed >= 0
            else "reproduce with `vtlgen prove --counterexamples DIR`, then `vtlgen validate --replay FILE`"
        )
        return f"{self.property} {self.message}\n    at {where} `{self.disassembly}` ({line}){values}\n    {reproduce}"


class StubSource:
    """Names an instruction of a stub the way every violation does: offset, disassembly, line."""

    def __init__(self, assembly: Assembly, source_file: str):
        self.assembly = assembly
        self.source_file = source_file
        self.decoded = decode(assembly.code)

    def violation(
        self, prop: str, message: str, offset: int | None, location: str, expected: str, actual: str, seed: int
    ) -> Violation:
        if offset is not None and 0 <= offset < len(self.assembly.code):
            text, line = self.decoded[offset // 4].text, self.assembly.line_of(offset)
        else:
            text, line = "(after the return)", None
        return Violation(prop, message, offset, text, line, self.source_file, location, expected, actual, seed)


class Collector:
    """Across trials: one violation per fault (property, instruction, location), with the
    first trial that showed it and how many did, and how often each property broke."""

    def __init__(self) -> None:
        self.first: dict[tuple[str, int | None, str], Violation] = {}
        self.trials: Counter[tuple[str, int | None, str]] = Counter()
        self.seen: Counter[str] = Counter()

    def add(self, violation: Violation) -> None:
        key = violation.key()
        self.first.setdefault(key, violation)
        self.trials[key] += 1
        self.seen[violation.property] += 1

    def violations(self) -> list[Violation]:
        return in_order(replace(v, trials=self.trials[key]) for key, v in self.first.items())

    def occurrences(self) -> dict[str, int]:
        return dict(sorted(self.seen.items()))


def in_order(violations: Iterable[Violation]) -> list[Violation]:
    """By property, then by where in the stub (end-of-run findings last), then by register."""
    return sorted(
        violations, key=lambda v: (int(v.property[1:]), v.offset if v.offset is not None else 1 << 30, v.register)
    )


@dataclass
class ConventionReport:
    """What any checker says about one convention's stub: the trials', a replay's, and the
    proof's (`vtlgen.prove.run.ProofReport` adds its verdict, paths and gaps to this shape)."""

    spec_id: str
    convention_id: str
    stub: str
    backend: str
    trials: int
    instructions_per_round_trip: int
    lower_bound: int
    properties_checked: list[str]
    properties_unobservable: list[str] = field(default_factory=list)
    not_modelled: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    occurrences: dict[str, int] = field(default_factory=dict)
    vector_lengths: list[int] = field(default_factory=list)  # bytes; the trials' SVE vector lengths
    vector_state: str = ""  # which SVE/SME state the trials covered, and how
    preconditions: list[str] = field(default_factory=list)  # what a trial that breaks an entry requirement showed
    notes: list[str] = field(default_factory=list)  # what else a reader must know (a proof not run, and why)

    @property
    def ok(self) -> bool:
        return not self.violations

    def broken_properties(self) -> set[str]:
        return {v.property for v in self.violations}

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["ok"] = self.ok
        # No trial ran (a proof) or no random seed made the inputs (a proof's or a replay's
        # counterexample): null, never a number a reader could take for a count or a seed.
        data["trials"] = self.trials or None
        for violation in data["violations"]:
            if violation["seed"] < 0:
                violation["seed"] = violation["trials"] = None
        return data

    def summary(self) -> str:
        status = "ok" if self.ok else f"{len(self.violations)} violation(s)"
        checked = ",".join(self.properties_checked)
        count = (
            f"{self.instructions_per_round_trip} instructions per round trip (lower bound {self.lower_bound})"
            if self.instructions_per_round_trip
            else f"instruction count not measured (lower bound {self.lower_bound})"
        )
        head = (
            f"{self.spec_id}/{self.convention_id} [{self.backend}] {self.stub}: {status}; "
            f"{self.trials} trials; properties {checked}; {count}"
        )
        for limit in self.properties_unobservable:
            head += f"\n  limit: {limit}"
        if self.vector_lengths:
            lengths = ", ".join(str(n) for n in self.vector_lengths)
            head += f"\n  SVE/SME: {self.vector_state} at vector lengths {lengths} bytes"
        for precondition in self.preconditions:
            head += f"\n  precondition {precondition}"
        for note in self.notes:
            head += f"\n  note: {note}"
        if self.not_modelled:
            head += (
                f"\n  not modelled (no backend runs them; lint checks their classes): {', '.join(self.not_modelled)}"
            )
        return head


class Checker(Protocol):
    """Checks one stub against P1-P10 and reports in one shape, whatever does the checking:
    trials on a backend (`vtlgen.validate.run.Trials`), the proof (`vtlgen.prove.run.ProofChecker`),
    a counterexample replayed as one trial (`vtlgen.prove.replay.Replay`). `vtlgen.verify`
    composes them."""

    def check(self, plan: Plan, code: StubCode) -> ConventionReport: ...
