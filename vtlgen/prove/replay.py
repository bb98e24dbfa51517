"""A counterexample as a file, and its replay as one unicorn trial judged by the contract.

The file holds every concrete input (registers, context bytes, the stack words the
violation depends on, the hypervisor's move), so `vtlgen validate --replay FILE` shows the
same violation on the other semantics, with no solver involved. The replay goes through the
backend interface like any trial: a `UnicornBackend` made with the counterexample as its
`GivenTrial`, judged by the trials' `TrialJudge`.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

from vtlgen.isa.assembler import assemble
from vtlgen.plan import Plan
from vtlgen.properties import PROPERTIES
from vtlgen.prove import replay_format
from vtlgen.prove.counterexample import Concrete
from vtlgen.prove.replay_format import FORMAT
from vtlgen.validate.backends.base import StubCode
from vtlgen.validate.backends.unicorn import RETURN_ADDRESS, UnicornBackend
from vtlgen.validate.contract import TrialJudge
from vtlgen.validate.results import ConventionReport, StubSource, Violation, in_order
from vtlgen.validate.trial import GUARD, Addresses, GivenTrial, InitialState, Switch, TrialFactory

REPLAY_SEED = -1  # no random seed: the inputs are in the file
BACKEND = "unicorn-replay"


class ReplayError(ValueError):
    """Not a counterexample of this plan and stub; `line`, `col`: where in the file, when known."""

    def __init__(self, message: str, line: int = 1, col: int = 1):
        super().__init__(message)
        self.line, self.col = line, col


def stub_digest(code: bytes) -> str:
    """What names a stub in a replay file: the SHA-256 of its machine code, the bytes the
    proof read and the replay runs (not its text: a reformatted stub is the same program)."""
    return hashlib.sha256(code).hexdigest()


def dump(concrete: Concrete, prop: str, message: str) -> str:
    data = {
        "format": FORMAT,
        "spec": concrete.spec_id,
        "convention": concrete.convention_id,
        "stub": {"file": concrete.stub_file, "sha256": concrete.stub_sha256},
        "violation": {"property": prop, "message": message},
        "entry": {name: hex(value) for name, value in concrete.entry.items()},
        "context": concrete.context.hex(),
        "guard": concrete.guard.hex(),
        "stack": {f"{offset:+#x}": hex(value) for offset, value in sorted(concrete.stack.items())},
        "switch_registers": [[name, hex(value)] for name, value in concrete.switch_registers],
        "switch_memory": [[offset, data.hex()] for offset, data in concrete.switch_memory],
        "expected_slots": {name: hex(value) for name, value in concrete.expected_slots.items()},
        "vtl2_values": [hex(value) for value in concrete.vtl2_values],
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def load(text: str) -> Concrete:
    """The counterexample of a replay file; ReplayError (`line:col: field: expected ...`)
    when the file is not one (see `vtlgen.prove.replay_format`)."""
    try:
        data = replay_format.parse(text)
    except replay_format.ReplayFormatError as error:
        raise ReplayError(error.message, error.line, error.col) from None
    return Concrete(
        spec_id=data.spec,
        convention_id=data.convention,
        entry={name: int(value, 16) for name, value in data.entry.items()},
        context=bytes.fromhex(data.context),
        guard=bytes.fromhex(data.guard),
        stack={int(offset, 16): int(value, 16) for offset, value in data.stack.items()},
        switch_registers=tuple((name, int(value, 16)) for name, value in data.switch_registers),
        switch_memory=tuple((offset, bytes.fromhex(raw)) for offset, raw in data.switch_memory),
        expected_slots={name: int(value, 16) for name, value in data.expected_slots.items()},
        vtl2_values=tuple(int(value, 16) for value in data.vtl2_values),
        stub_file=data.stub.file,
        stub_sha256=data.stub.sha256,
    )


def given_trial(plan: Plan, concrete: Concrete) -> GivenTrial:
    """The counterexample as one trial of `vtlgen.validate.trial`: its inputs, its hypervisor move;
    the scribble below SP at the trap is trial 0's (the proof lets it be anything)."""
    c = concrete
    addresses = Addresses(c.entry["x0"], c.entry["sp"], len(c.guard) + len(c.context))
    region = c.guard[:GUARD] + c.context + c.guard[GUARD:]
    state = InitialState(REPLAY_SEED, random.Random(0), False, addresses, dict(c.entry), region, set(c.vtl2_values))
    state.stack = dict(c.stack)
    drawn = TrialFactory(plan)
    scribble = drawn.switch(drawn.initial(0, RETURN_ADDRESS)).scribble
    return GivenTrial(plan, state, Switch(c.switch_registers, c.switch_memory, dict(c.expected_slots), scribble))


def replay(plan: Plan, stub_text: str, stub_file: str, concrete: Concrete) -> tuple[Violation, ...]:
    """Run the counterexample as one unicorn trial; the contract's violations."""
    check_fits(plan, concrete)  # before the stub is assembled: a file for another plan says so first
    code = StubCode(stub_text, stub_file, assemble(stub_text, stub_file))
    check_stub(concrete, code)
    return _violations(plan, code, concrete)


def check_fits(plan: Plan, concrete: Concrete) -> None:
    """Raise ReplayError unless the counterexample is one of this plan's trials: the same
    spec and convention, and the same registers, slots and context bytes, by name and count,
    as the trials draw (a file with more or other entries never reaches the backend)."""
    if (concrete.spec_id, concrete.convention_id) != (plan.spec_id, plan.convention_id):
        raise ReplayError(f"the file is for {concrete.spec_id}/{concrete.convention_id}")
    factory = TrialFactory(plan)
    if len(concrete.context) != plan.context.size or len(concrete.guard) + len(concrete.context) != (
        factory.region_size
    ):
        raise ReplayError(f"context: expected {plan.context.size} bytes")
    drawn = factory.initial(0, RETURN_ADDRESS)
    move = factory.switch(drawn)
    _same("entry", sorted(concrete.entry), sorted(drawn.entry))
    _same("switch_registers", [name for name, _ in concrete.switch_registers], [name for name, _ in move.registers])
    _same(
        "switch_memory",
        [(offset, len(data)) for offset, data in concrete.switch_memory],
        [(offset, len(data)) for offset, data in move.memory],
    )
    _same("expected_slots", sorted(concrete.expected_slots), sorted(move.expected_slots))
    values = [
        *(("entry." + name, name, value) for name, value in concrete.entry.items()),
        *((f"switch_registers.{i}", name, value) for i, (name, value) in enumerate(concrete.switch_registers)),
        *(("expected_slots." + name, name, value) for name, value in concrete.expected_slots.items()),
        *((f"stack.{offset:+#x}", "x0", value) for offset, value in concrete.stack.items()),
        *((f"vtl2_values.{i}", "x0", value) for i, value in enumerate(concrete.vtl2_values)),
    ]
    for where, register, value in values:
        if value >> _bits(register):
            raise ReplayError(f"{where}: {value:#x} does not fit {register} ({_bits(register)} bits)")
    if not concrete.at_trial_addresses(RETURN_ADDRESS):
        raise ReplayError("the counterexample needs addresses outside the windows the trials map")


def _bits(register: str) -> int:
    return 128 if register.startswith("q") else NZCV_BITS if register == "nzcv" else 64


NZCV_BITS = 32  # NZCV as `mrs` reads it: flags in bits 31:28 of a 32-bit view


def _same(field: str, found: list[Any], expected: list[Any]) -> None:
    if found != expected:
        extra = [item for item in found if item not in expected][:3]
        missing = [item for item in expected if item not in found][:3]
        detail = f"{len(found)} entries, expected {len(expected)}" if len(found) != len(expected) else "other entries"
        shown = "; ".join(
            part for part in (f"unexpected {extra}" if extra else "", f"missing {missing}" if missing else "") if part
        )
        raise ReplayError(f"{field}: {detail} (as this plan's trials draw them){': ' + shown if shown else ''}")


def check_stub(concrete: Concrete, code: StubCode) -> None:
    """Raise ReplayError unless the counterexample was found on this stub's machine code: a
    counterexample of one stub says nothing about another, so "ok" there would be a lie."""
    if concrete.stub_sha256 != stub_digest(code.assembly.code):
        raise ReplayError(
            f"the file is a counterexample of the stub {concrete.stub_file!r} "
            f"(sha256 {concrete.stub_sha256[:16]}...), not of {code.file} "
            f"(sha256 {stub_digest(code.assembly.code)[:16]}...): replay it with --stub {concrete.stub_file}"
        )


def _violations(plan: Plan, code: StubCode, concrete: Concrete) -> tuple[Violation, ...]:
    check_fits(plan, concrete)
    backend = UnicornBackend(factory=given_trial(plan, concrete))
    judge = TrialJudge(plan, StubSource(code.assembly, code.file), UnicornBackend.observes)
    return tuple(
        violation
        for observation in backend.observe(plan, code, [REPLAY_SEED])
        for violation in judge.trial(observation)
    )


@dataclass(frozen=True)
class Replay:
    """The replay's checker: one unicorn trial from a counterexample, reported like any validation."""

    concrete: Concrete

    def check(self, plan: Plan, code: StubCode) -> ConventionReport:
        violations = in_order(_violations(plan, code, self.concrete))
        return ConventionReport(
            spec_id=plan.spec_id,
            convention_id=plan.convention_id,
            stub=code.file,
            backend=BACKEND,
            trials=1,
            instructions_per_round_trip=0,
            lower_bound=plan.budget.lower_bound,
            properties_checked=list(PROPERTIES),
            not_modelled=[*plan.vector_groups, *plan.not_modelled],
            violations=violations,
            occurrences=dict(sorted(Counter(v.property for v in violations).items())),
        )
