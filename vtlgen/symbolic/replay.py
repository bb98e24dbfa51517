"""A counterexample as a file, and its replay as one unicorn trial.

The file holds every concrete input (registers, context bytes, the stack words the
violation depends on, the hypervisor's move), so `vtlgen validate --replay FILE` shows the
same violation on the other semantics, with no solver involved.
"""

from __future__ import annotations

import json
import random
from typing import Any

from vtlgen.assembler import assemble
from vtlgen.emulator import RETURN_ADDRESS, Harness, _Trial
from vtlgen.plan import Plan
from vtlgen.report import Violation
from vtlgen.symbolic.counterexample import Concrete
from vtlgen.trial import ENTRY_SP, GUARD, STACK, STACK_SIZE, InitialState, Switch, TrialFactory

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


class _ReplayFactory(TrialFactory):
    """The trial's starting state and hypervisor move, from the counterexample."""

    def __init__(self, plan: Plan, concrete: Concrete):
        super().__init__(plan)
        self.concrete = concrete

    def initial(self, seed: int, return_address: int) -> InitialState:
        c = self.concrete
        region = c.guard[:GUARD] + c.context + c.guard[GUARD:]
        return InitialState(seed, random.Random(0), dict(c.entry), region, set(c.vtl2_values))

    def switch(self, state: InitialState) -> Switch:
        c = self.concrete
        return Switch(c.switch_registers, c.switch_memory, dict(c.expected_slots))


class _ReplayHarness(Harness):
    def __init__(self, plan: Plan, stub_text: str, stub_file: str, concrete: Concrete):
        super().__init__(plan, assemble(stub_text, stub_file), stub_file)
        self.factory = _ReplayFactory(plan, concrete)
        self.concrete = concrete

    def _start(self, seed: int) -> _Trial:
        trial = super()._start(seed)
        for offset, word in self.concrete.stack.items():
            address = ENTRY_SP + offset
            if address >= STACK and address + 8 <= STACK + STACK_SIZE:
                self.uc.mem_write(address, word.to_bytes(8, "little"))
        return trial


def replay(plan: Plan, stub_text: str, stub_file: str, concrete: Concrete) -> tuple[Violation, ...]:
    """Run the counterexample as one unicorn trial; its violations."""
    if (concrete.spec_id, concrete.convention_id) != (plan.spec_id, plan.convention_id):
        raise ReplayError(f"the file is for {concrete.spec_id}/{concrete.convention_id}")
    if not concrete.at_trial_addresses(RETURN_ADDRESS):
        raise ReplayError("the counterexample needs addresses other than the trials' fixed context and stack")
    if len(concrete.context) != plan.context.size:
        raise ReplayError(f"context: expected {plan.context.size} bytes")
    return _ReplayHarness(plan, stub_text, stub_file, concrete).run(REPLAY_SEED).violations
