"""A counterexample as a file, and its replay as one unicorn trial judged by the contract.

The file holds every concrete input (registers, context bytes, the stack words the
violation depends on, the hypervisor's move), so `vtlgen validate --replay FILE` shows the
same violation on the other semantics, with no solver involved. The replay goes through the
backend interface like any trial: a `UnicornBackend` made with the counterexample as its
`GivenTrial`, judged by the trials' `TrialJudge`.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

from vtlgen.isa.assembler import assemble
from vtlgen.plan import Plan
from vtlgen.properties import PROPERTIES
from vtlgen.prove.counterexample import Concrete
from vtlgen.validate.backends.base import StubCode
from vtlgen.validate.backends.unicorn import RETURN_ADDRESS, UnicornBackend
from vtlgen.validate.contract import TrialJudge
from vtlgen.validate.results import ConventionReport, StubSource, Violation, in_order
from vtlgen.validate.trial import GUARD, Addresses, GivenTrial, InitialState, Switch, TrialFactory

FORMAT = "vtlgen-replay/1"
REPLAY_SEED = -1  # no random seed: the inputs are in the file
BACKEND = "unicorn-replay"


class ReplayError(ValueError):
    pass


def dump(concrete: Concrete, prop: str, message: str) -> str:
    data = {
        "format": FORMAT,
        "spec": concrete.spec_id,
        "convention": concrete.convention_id,
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
    try:
        data: dict[str, Any] = json.loads(text)
        if data.get("format") != FORMAT:
            raise ReplayError(f"format: expected {FORMAT!r}")
        return Concrete(
            spec_id=str(data["spec"]),
            convention_id=str(data["convention"]),
            entry={name: int(value, 16) for name, value in data["entry"].items()},
            context=bytes.fromhex(data["context"]),
            guard=bytes.fromhex(data["guard"]),
            stack={int(offset, 16): int(value, 16) for offset, value in data["stack"].items()},
            switch_registers=tuple((str(name), int(value, 16)) for name, value in data["switch_registers"]),
            switch_memory=tuple((int(offset), bytes.fromhex(raw)) for offset, raw in data["switch_memory"]),
            expected_slots={name: int(value, 16) for name, value in data["expected_slots"].items()},
            vtl2_values=tuple(int(value, 16) for value in data["vtl2_values"]),
        )
    except ReplayError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ReplayError(f"not a replay file: {error}") from None


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
    return _violations(plan, StubCode(stub_text, stub_file, assemble(stub_text, stub_file)), concrete)


def check_fits(plan: Plan, concrete: Concrete) -> None:
    """Raise ReplayError unless the counterexample is one of this plan's trials."""
    if (concrete.spec_id, concrete.convention_id) != (plan.spec_id, plan.convention_id):
        raise ReplayError(f"the file is for {concrete.spec_id}/{concrete.convention_id}")
    if len(concrete.context) != plan.context.size or len(concrete.guard) + len(concrete.context) != (
        TrialFactory(plan).region_size
    ):
        raise ReplayError(f"context: expected {plan.context.size} bytes")
    if not concrete.at_trial_addresses(RETURN_ADDRESS):
        raise ReplayError("the counterexample needs addresses outside the windows the trials map")


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
