"""A counterexample as a file, and its replay as one unicorn trial judged by the contract.

The file holds every concrete input (registers, context bytes, the stack words the
violation depends on, the hypervisor's move), so `vtlgen validate --replay FILE` shows the
same violation on the other semantics, with no solver involved.
"""

from __future__ import annotations

import json
import random
from typing import Any

from vtlgen.isa.assembler import assemble
from vtlgen.plan import Plan
from vtlgen.prove.counterexample import Concrete
from vtlgen.validate.backends.unicorn import RETURN_ADDRESS, Harness, UnicornBackend
from vtlgen.validate.contract import TrialJudge
from vtlgen.validate.results import StubSource, Violation
from vtlgen.validate.trial import GUARD, Addresses, GivenTrial, InitialState, Switch, TrialFactory

FORMAT = "vtlgen-replay/1"
REPLAY_SEED = -1  # no random seed: the inputs are in the file


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
    if (concrete.spec_id, concrete.convention_id) != (plan.spec_id, plan.convention_id):
        raise ReplayError(f"the file is for {concrete.spec_id}/{concrete.convention_id}")
    if len(concrete.context) != plan.context.size or len(concrete.guard) + len(concrete.context) != (
        TrialFactory(plan).region_size
    ):
        raise ReplayError(f"context: expected {plan.context.size} bytes")
    if not concrete.at_trial_addresses(RETURN_ADDRESS):
        raise ReplayError("the counterexample needs addresses outside the windows the trials map")
    assembly = assemble(stub_text, stub_file)
    harness = Harness(plan, assembly, factory=given_trial(plan, concrete))
    judge = TrialJudge(plan, StubSource(assembly, stub_file), UnicornBackend.observes)
    return tuple(judge.trial(harness.run(REPLAY_SEED)))
