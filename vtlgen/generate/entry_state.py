"""The state a caller must be in when it calls a stub (the spec's `entry_requirements`, on
the Plan's vector model), as the headers print it: `SVCR.SM = 0` and the reason."""

from __future__ import annotations

from dataclasses import dataclass

from vtlgen.plan import Plan


@dataclass(frozen=True)
class EntryState:
    condition: str  # e.g. "SVCR.SM = 0": the state's architectural name and its value
    reason: str  # spec prose: print it through a filter


def condition(state: str, value: int) -> str:
    """`svcr.sm`, 0 -> `SVCR.SM = 0`: the register field as the Arm ARM names it."""
    return f"{state.upper()} = {value}"


def of(plan: Plan) -> tuple[EntryState, ...]:
    """Every entry requirement of the plan's spec; none when the spec has no vector model."""
    vector = plan.model.vector
    if vector is None:
        return ()
    return tuple(EntryState(condition(r.state, r.value), r.reason) for r in vector.requirements)
