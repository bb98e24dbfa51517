"""The unicorn backend: every instruction's effects observed, in process.

The reference backend. The work is split by what it talks to: `unicorn_capi` (unicorn's
C API: register banks, memory, hooks), `unicorn_watch` (where a stub must be looked at),
`unicorn_harness` (one trial: setup, run, observation) and `unicorn_vector` (SVE/SME words
on `VectorMachine`). Unicorn constants appear only in those modules.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import ClassVar

from vtlgen.plan import Plan
from vtlgen.validate.backends.base import Observable, StubCode, TrialObservation
from vtlgen.validate.backends.unicorn_harness import CODE, CODE_SIZE, RETURN_ADDRESS, Harness
from vtlgen.validate.trial import TrialFactory

__all__ = ["CODE", "CODE_SIZE", "RETURN_ADDRESS", "Harness", "UnicornBackend"]


class UnicornBackend:
    """Every instruction observed: the reference backend. SVE/SME state through
    `VectorMachine` when made with a vector length (bytes; 0: none)."""

    name: ClassVar[str] = "unicorn"
    observes: ClassVar[frozenset[Observable]] = frozenset(
        {Observable.STEPS, Observable.ACCESSES, Observable.TRACE, Observable.VECTOR}
    )
    limits: ClassVar[Mapping[str, str]] = MappingProxyType({})

    def __init__(self, vector_length: int = 0, streaming: bool = False, factory: TrialFactory | None = None):
        """`factory`: where every trial comes from (e.g. a `GivenTrial`, a replayed
        counterexample); else `TrialFactory(plan, vector_length, streaming)`."""
        self.vector_length, self.streaming, self.factory = vector_length, streaming, factory

    def observe(self, plan: Plan, code: StubCode, trials: Sequence[int]) -> Iterator[TrialObservation]:
        harness = Harness(
            plan, code.assembly, factory=self.factory, vector_length=self.vector_length, streaming=self.streaming
        )
        for seed in trials:
            yield harness.run(seed)
