"""`vtlgen prove`: P1-P10 for every input, as a report of the same shape as the trials'.

The proof's checker (`vtlgen.validate.results.Checker`), and the one place the proof meets
the rest of vtlgen: it assembles the stub, runs the symbolic explorer (vtlgen/prove/) on its
machine code at the trials' code address, and turns each violation into a `Violation` whose
values come from a concrete counterexample that a unicorn trial replays (`vtlgen validate
--replay FILE`).

Verdicts: PROVED (every path ends, no obligation can fail), VIOLATED (a counterexample
exists), UNPROVEN (a path the engine could not finish; never a pass).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import z3

from vtlgen.isa import sve
from vtlgen.isa.assembler import assemble
from vtlgen.isa.vector_length import ARCHITECTURAL_VECTOR_LENGTHS
from vtlgen.plan import Plan
from vtlgen.properties import PROPERTIES
from vtlgen.prove.counterexample import Concrete, Solver, trial_addresses
from vtlgen.prove.explorer import Explorer
from vtlgen.prove.obligations import Failure, Gap, Shown
from vtlgen.prove.replay import REPLAY_SEED, dump
from vtlgen.validate.backends.base import StubCode
from vtlgen.validate.backends.unicorn import CODE, RETURN_ADDRESS
from vtlgen.validate.finding import fmt
from vtlgen.validate.results import ConventionReport, StubSource, Violation, in_order

BACKEND = "proof"
PROVED, VIOLATED, UNPROVEN = "PROVED", "VIOLATED", "UNPROVEN"


@dataclass
class ProofReport(ConventionReport):
    verdict: str = PROVED
    paths: int = 0
    unproven: list[str] = field(default_factory=list)  # "+0x10 `insn` (file:line): why"
    choices: list[str] = field(default_factory=list)  # where the ABI leaves a choice, the spec's
    vector_lengths: list[int] = field(default_factory=list)  # the VLs (bytes) proved at; empty: no SVE state

    @property
    def ok(self) -> bool:
        return self.verdict == PROVED

    def summary(self) -> str:
        count = len(self.violations)
        status = self.verdict + (f", {count} violation(s)" if count else "")
        lines = [
            f"{self.spec_id}/{self.convention_id} [{self.backend}] {self.stub}: {status}; {self.paths} path(s); "
            f"properties {','.join(self.properties_checked)}; longest path {self.instructions_per_round_trip} "
            f"instructions (lower bound {self.lower_bound})"
        ]
        if self.vector_lengths:
            lines.append(f"  vector lengths: {', '.join(str(vl) for vl in self.vector_lengths)} bytes")
        lines += [f"  UNPROVEN {gap}" for gap in self.unproven]
        lines += [f"  choice: {choice}" for choice in self.choices]
        if self.not_modelled:
            covered = ", ".join(self.not_modelled)
            lines.append(f"  not covered (SVE/SME state, FP control, system registers; trials run SVE/SME): {covered}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Proof:
    report: ProofReport
    counterexamples: tuple[tuple[Violation, Concrete], ...]


def _shown(model: z3.ModelRef | None, term: Shown) -> str:
    if isinstance(term, str):
        return term
    if isinstance(term, tuple):
        return "".join(_shown(model, part) for part in term)
    if model is None:
        return str(z3.simplify(term))
    value = model.eval(term, model_completion=True)
    return fmt(value.as_long()) if z3.is_bv_value(value) else str(value)


def vector_instruction(stub_text: str, stub_file: str) -> tuple[int, str] | None:
    """The stub's first SVE/SME instruction (offset, text): SLEIGH lifts these to p-code
    operations the symbolic engine has no semantics for (`SVE_addvl`, ...), so a proof of
    such a stub can only be UNPROVEN; the trials cover it at every vector length instead."""
    return first_vector_instruction(assemble(stub_text, stub_file).code)


def first_vector_instruction(code: bytes) -> tuple[int, str] | None:
    """`vector_instruction` of machine code."""
    for offset in range(0, len(code), 4):
        decoded = sve.decode(int.from_bytes(code[offset : offset + 4], "little"))
        if decoded is not None:
            return offset, sve.disassemble(decoded)
    return None


@dataclass(frozen=True)
class ProofChecker:
    """The proof as a checker beside the trials: the report of `prove` (see there)."""

    def check(self, plan: Plan, code: StubCode) -> ConventionReport:
        return prove_assembled(plan, code).report


def prove(plan: Plan, stub_text: str, stub_file: str) -> Proof:
    return prove_assembled(plan, StubCode(stub_text, stub_file, assemble(stub_text, stub_file)))


def prove_assembled(plan: Plan, code: StubCode) -> Proof:
    assembly, stub_file = code.assembly, code.file
    source = StubSource(assembly, stub_file)
    found: list[tuple[Violation, Concrete]] = []
    loose: list[Violation] = []
    broken_at: dict[tuple[str, int | None, str], list[int]] = {}  # violation -> the VLs it shows at
    gap_list: list[Gap] = []
    paths = longest = 0
    lengths = proof_lengths(plan, assembly.code)
    for vl in lengths:
        explorer = Explorer(plan, assembly.code, CODE, trial_addresses(plan, RETURN_ADDRESS), vl)
        result = explorer.run()
        paths, longest = max(paths, result.paths), max(longest, result.longest)  # per VL: the most
        gap_list += [g for g in result.gaps if all(g.offset != known.offset for known in gap_list)]
        solver = Solver(plan, explorer.world, RETURN_ADDRESS) if result.failures else None
        for failure in result.failures:
            assert solver is not None
            key = (failure.property, failure.offset, failure.location)
            if key in broken_at:  # the same fault at another VL: named there, one report
                broken_at[key].append(vl)
                continue
            broken_at[key] = [vl]
            model = solver.model(failure.condition)
            if model is None:  # z3 gave up on the concrete inputs: the violation stands, without them
                loose.append(_violation(source, failure, None))
                continue
            violation = _violation(source, failure, model)
            try:
                concrete = solver.concrete(model)
            except (KeyError, ValueError, IndexError):  # inputs past the trials' window: no replay
                loose.append(violation)
                continue
            if not concrete.at_trial_addresses(RETURN_ADDRESS):  # say where: the values depend on it
                e = concrete.entry
                inputs = f"ctx {fmt(e['x0'])}, sp {fmt(e['sp'])}, x29 {fmt(e['x29'])}, x30 {fmt(e['x30'])}"
                violation = replace(violation, message=f"{violation.message} (with {inputs})")
            found.append((violation, concrete))
    if lengths != (0,):  # say at which vector lengths each violation shows
        found = [(_at_lengths(v, broken_at), c) for v, c in found]
        loose = [_at_lengths(v, broken_at) for v in loose]
    gaps = []
    for gap in gap_list:
        where = source.violation("P9", "", gap.offset, "", "", "", REPLAY_SEED)
        at = (
            f"+0x{gap.offset:x} `{where.disassembly}` ({stub_file}:{where.source_line})"
            if gap.offset is not None
            else stub_file
        )
        gaps.append(f"{at}: {gap.reason}")
    violations = in_order([*(v for v, _ in found), *loose])
    verdict = VIOLATED if violations else (UNPROVEN if gaps else PROVED)
    vector = [] if lengths == (0,) else list(lengths)
    report = ProofReport(
        spec_id=plan.spec_id,
        convention_id=plan.convention_id,
        stub=stub_file,
        backend=BACKEND,
        trials=0,
        instructions_per_round_trip=longest,
        lower_bound=plan.budget.lower_bound,
        properties_checked=list(PROPERTIES),
        not_modelled=[*plan.not_modelled] if vector else [*plan.vector_groups, *plan.not_modelled],
        violations=violations,
        occurrences={},
        verdict=verdict,
        paths=paths,
        unproven=gaps,
        vector_lengths=vector,
        choices=_choices(plan),
    )
    return Proof(report, tuple(found))


def proof_lengths(plan: Plan, code: bytes) -> tuple[int, ...]:
    """The VLs a proof runs at: every architectural one when the spec has SVE state (a stub
    may branch on the VL, and the extended context's layout depends on it), else none."""
    if plan.model.vector is None:
        return (0,)
    return ARCHITECTURAL_VECTOR_LENGTHS


def _at_lengths(violation: Violation, broken_at: dict[tuple[str, int | None, str], list[int]]) -> Violation:
    """The violation's message names every VL it shows at (the proof of one VL names its own)."""
    for (prop, offset, _), lengths in broken_at.items():
        if prop == violation.property and (offset is None or violation.offset == offset):
            shown = "every VL" if tuple(lengths) == ARCHITECTURAL_VECTOR_LENGTHS else ", ".join(map(str, lengths))
            own = f"(VL {lengths[0]})"
            if own in violation.message:
                return replace(violation, message=violation.message.replace(own, f"(VL {shown})"))
            return replace(violation, message=f"{violation.message} (VL {shown})")
    return violation


def _choices(plan: Plan) -> list[str]:
    """The spec's answers to what the ABI leaves open, as the proof applies them."""
    return [
        f"{a.register}: must hold {a.name} zero-extended (the spec passes it as w{a.register[1:]}, "
        f"which clears bits 63:32)"
        for a in plan.model.arguments
        if a.width == 32
    ]


def _violation(source: StubSource, failure: Failure, model: z3.ModelRef | None) -> Violation:
    return source.violation(
        failure.property,
        failure.message,
        failure.offset,
        failure.location if failure.shown_location is None else _shown(model, failure.shown_location),
        _shown(model, failure.expected),
        _shown(model, failure.actual),
        REPLAY_SEED,
    )


def counterexample_name(plan: Plan, index: int, violation: Violation) -> str:
    return f"{plan.spec_id}-{plan.convention_id}-{index:02d}-{violation.property}.json"


def replay_file(concrete: Concrete, violation: Violation) -> str:
    return dump(concrete, violation.property, violation.message)
